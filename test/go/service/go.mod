module espan.test/goservice

go 1.19
