"""psycopg2 (Debian's python3-psycopg2) against the test's PostgreSQL, as role
`app` with SCRAM authentication: a parameterised query, PREPARE / EXECUTE, a
server-side cursor read in batches, a failing statement. Prints what it saw.

    python3 workload.py PORT   (password in APP_PASSWORD)
"""
import json
import os
import sys

import psycopg2

conn = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), dbname="shop", user="app", password=os.environ["APP_PASSWORD"])
cur = conn.cursor()
cur.execute("SELECT name FROM users WHERE email = %s", ("ada@example.com",))
names = [r[0] for r in cur.fetchall()]
cur.execute("PREPARE by_id(int) AS SELECT name FROM users WHERE id = $1")
for i in (1, 2, 3):
    cur.execute("EXECUTE by_id(%s)", (i,))
    names += [r[0] for r in cur.fetchall()]
with conn.cursor(name="all_users") as named:
    named.itersize = 2
    named.execute("SELECT id, name FROM users ORDER BY id")
    ids = [r[0] for r in named]
conn.commit()
error = None
try:
    cur.execute("SELECT 1/0")
except psycopg2.Error as e:
    error = e.pgcode
conn.rollback()
conn.close()
print(json.dumps({"names": names, "ids": ids, "error": error}))
