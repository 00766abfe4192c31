// A forward HTTP proxy confined to the test's names: WebKitGTK has no host-resolver switch,
// so the WebKit browser is given this proxy (WebDriver "proxy" capability) and every name
// under .test is connected to 127.0.0.1; any other destination is refused (403), so no
// traffic leaves 127.0.0.0/8 and the machine's /etc/hosts is never touched.
//
// https goes through CONNECT (the tunnel carries the browser's own TLS: the proxy sees host
// and port, never the content); plain http in absolute form is forwarded.  Every destination
// is recorded ({ allowed, refused }) for the report.

import http from 'node:http';
import net from 'node:net';

export const TEST_NAME = /^(?:[a-z0-9-]+\.)*test$/i;

// "host:port" of a CONNECT request, or of an absolute http:// URL.
function target(hostPort, defaultPort) {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(hostPort || '');
  if (!m) return null;
  const port = Number(m[2] || defaultPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: m[1].toLowerCase(), port };
}

export class TestProxy {
  constructor({ log = () => {} } = {}) {
    this.log = log;
    this.server = null;
    this.port = null;
    this.allowed = new Map(); // "host:port" -> count
    this.refused = new Map();
    this.sockets = new Set();
  }

  count(map, key) {
    map.set(key, (map.get(key) || 0) + 1);
  }

  // Where a request for HOST:PORT goes: 127.0.0.1 for a .test name, nowhere otherwise.
  route(t) {
    const key = t ? `${t.host}:${t.port}` : '(unparsable)';
    if (t && TEST_NAME.test(t.host)) {
      this.count(this.allowed, key);
      return '127.0.0.1';
    }
    this.count(this.refused, key);
    return null;
  }

  track(sock) {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
  }

  async start() {
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('connect', (req, sock, head) => this.tunnel(req, sock, head));
    this.server.on('connection', (sock) => this.track(sock));
    this.server.on('clientError', (err, sock) => sock.destroy());
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = this.server.address().port;
    return this.port;
  }

  tunnel(req, client, head) {
    const t = target(req.url, 443);
    const ip = this.route(t);
    if (!ip) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = net.connect({ host: ip, port: t.port });
    this.track(upstream);
    let open = false;
    upstream.setTimeout(30000, () => upstream.destroy());
    upstream.on('connect', () => {
      open = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head && head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (open) client.destroy();
      else client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  }

  forward(req, res) {
    let url = null;
    try { url = new URL(req.url); } catch { /* not absolute */ }
    const t = url && url.protocol === 'http:' ? target(url.host, 80) : null;
    const ip = this.route(t);
    if (!ip) {
      res.writeHead(403, { 'Content-Length': 0, Connection: 'close' });
      res.end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const up = http.request({
      host: ip, port: t.port, method: req.method, path: `${url.pathname}${url.search}`, headers, timeout: 30000,
    }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('timeout', () => up.destroy(new Error('timeout')));
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Length': 0, Connection: 'close' });
      res.end();
    });
    req.pipe(up);
  }

  // "a.test:443 x3, ..." for the report.
  static list(map) {
    return [...map].map(([k, n]) => `${k} x${n}`).join(', ') || 'none';
  }

  async stop() {
    if (!this.server) return;
    const srv = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => srv.close(() => resolve()));
  }
}
