// Test service for goroutine correlation (standard library only).
//
//	service backend PORT                 answers GET /echo?id=N
//	service front PORT BACKEND_PORT REDIS_PORT
//
// The front's handlers pass the request's id on in every outbound call (the
// backend's query, the Redis key req:N), so a test can tell which request
// caused each call:
//
//	/work?id=N    the handler's goroutine calls the backend (a connection per
//	              call) and sends GET req:N to Redis over a raw TCP connection
//	/fan?id=N     three `go func()`s, each sending GET req:N to Redis on its own
//	              connection, and one calling the backend; waits for them all
//	/pooled?id=N  calls the backend through a shared keep-alive client, whose
//	              connections' goroutines work for whichever request uses them
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
)

var (
	backend   string
	redisAddr string
	oneShot   = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	keepAlive = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
)

func callBackend(client *http.Client, id string) error {
	resp, err := client.Get(backend + "/echo?id=" + id)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// redisGet sends GET req:ID as a RESP array and reads the one-line or bulk reply.
func redisGet(id string) error {
	c, err := net.Dial("tcp", redisAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	key := "req:" + id
	if _, err := fmt.Fprintf(c, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(key), key); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line[0] == '-' {
		return fmt.Errorf("redis: %s", line)
	}
	return nil
}

func answer(w http.ResponseWriter, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	io.WriteString(w, "ok\n")
}

func main() {
	mux := http.NewServeMux()
	switch os.Args[1] {
	case "backend":
		mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.URL.Query().Get("id")+"\n")
		})
	case "front":
		backend = "http://127.0.0.1:" + os.Args[3]
		redisAddr = "127.0.0.1:" + os.Args[4]
		mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
			id := r.URL.Query().Get("id")
			err := callBackend(oneShot, id)
			if err == nil {
				err = redisGet(id)
			}
			answer(w, err)
		})
		mux.HandleFunc("/fan", func(w http.ResponseWriter, r *http.Request) {
			id := r.URL.Query().Get("id")
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := 0; i < 3; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs[i] = redisGet(id)
				}(i)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[3] = callBackend(oneShot, id)
			}()
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					answer(w, err)
					return
				}
			}
			answer(w, nil)
		})
		mux.HandleFunc("/pooled", func(w http.ResponseWriter, r *http.Request) {
			answer(w, callBackend(keepAlive, r.URL.Query().Get("id")))
		})
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	http.Serve(l, mux)
}
