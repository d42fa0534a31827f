"""stuck_page.py PORT CMD...: runs CMD (a gdask run with
--dashboard=127.0.0.1:PORT) with a page connected to its dashboard that
never reads what it is sent. Its receive buffer is made as small as the
kernel allows, so the frames fill the socket within the first seconds and
the server's writes block from then on. Exits with CMD's status."""
import socket
import subprocess
import sys
import time

port = int(sys.argv[1])
run = subprocess.Popen(sys.argv[2:])
page = None
deadline = time.monotonic() + 5
while page is None and run.poll() is None and time.monotonic() < deadline:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's minimum
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
        page = s
    except OSError:
        s.close()
        time.sleep(0.01)
if page is None:
    print("stuck_page.py: the dashboard never answered", file=sys.stderr)
sys.exit(run.wait())
