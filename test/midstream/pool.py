# A database pool's connection opened before the capture: connects to MariaDB
# and runs one query, says "connected", then on a line from stdin runs the
# queries, prints how many, and stays up (connection open) until stdin closes.
import os
import sys

import pymysql

port, count = int(sys.argv[1]), int(sys.argv[2])
conn = pymysql.connect(host='127.0.0.1', port=port, user='app', password=os.environ['MYSQL_PASSWORD'], database='shop')
cur = conn.cursor()
cur.execute('SELECT 1')
cur.fetchall()
print('connected', flush=True)
sys.stdin.readline()
for i in range(count):
    cur.execute('SELECT name FROM users WHERE id = %s', (i % 3 + 1,))
    cur.fetchall()
print(count, flush=True)
sys.stdin.read()
