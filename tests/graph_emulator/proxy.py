# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A loopback forward proxy that wants Basic credentials, as corporate proxies do: ``CONNECT host:port`` opens an
https tunnel and absolute-form requests (``GET http://…``) are forwarded, both only with the right
``Proxy-Authorization``; without it, or with a wrong one, the answer is ``407 Proxy Authentication Required`` with
``Proxy-Authenticate: Basic``. It only reaches loopback hosts. Counts what it refused and what it let through."""

import base64
import binascii
import hmac
import ipaddress
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

REALM = "o365-admin-test-proxy"
HEADER_LIMIT = 65536


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _pipe(one, other):
    """Copy bytes both ways until either side closes."""
    sockets = [one, other]
    while True:
        readable, dummy, broken = select.select(sockets, [], sockets, 30)
        if broken or not readable:
            return
        for source in readable:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                (other if source is one else one).sendall(data)
            except OSError:
                return


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        proxy = self.server.proxy
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk or len(head) > HEADER_LIMIT:
                return
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = (lines[0].split(" ") + ["", ""])[:3]
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        authorization = next((value.strip() for name, value in headers if name.lower() == "proxy-authorization"), None)
        if not proxy.authorized(authorization):
            proxy.count("refused")
            body = b"<html><body><h1>407 Proxy Authentication Required</h1></body></html>"
            self.request.sendall(("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
                                  "realm=\"%s\"\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                                  "Connection: close\r\n\r\n" % (REALM, len(body))).encode("latin-1") + body)
            return
        if method == "CONNECT":
            host, dummy, port = target.rpartition(":")
            if not _loopback(host):
                self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
            proxy.count("tunnels")
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not _loopback(parts.hostname or ""):
                self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=30)
            proxy.count("forwarded")
            path = parts.path + ("?" + parts.query if parts.query else "")
            kept = ["%s:%s" % (name, value) for name, value in headers
                    if name.lower() not in ("proxy-authorization", "proxy-connection", "connection")]
            upstream.sendall(("%s %s %s\r\n%s\r\nConnection: close\r\n\r\n" % (method, path, version, "\r\n".join(kept)))
                             .encode("latin-1") + rest)
        with upstream:
            _pipe(self.request, upstream)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class BasicAuthProxy:
    """``with BasicAuthProxy("user", "password") as proxy:`` ``proxy.url(user, password)`` is what goes in
    HTTPS_PROXY; ``proxy.counts`` says how many requests it refused (407), tunnelled and forwarded."""

    def __init__(self, username, password):
        self.username = username
        self.password = password
        self.counts = {"refused": 0, "tunnels": 0, "forwarded": 0}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, username=None, password=None):
        if username is None:
            return "http://127.0.0.1:%d" % self.port
        return "http://%s:%s@127.0.0.1:%d" % (username, password, self.port)

    def authorized(self, header):
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, ("%s:%s" % (self.username, self.password)).encode("utf-8"))

    def count(self, what):
        with self._lock:
            self.counts[what] += 1

    def reset(self):
        with self._lock:
            self.counts = dict((key, 0) for key in self.counts)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *unused):
        self.stop()
