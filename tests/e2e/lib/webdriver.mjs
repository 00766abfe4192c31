// A minimal W3C WebDriver client (HTTP + JSON, Node's fetch): the commands the WebKit
// scenarios use, each bounded in time.  https://www.w3.org/TR/webdriver2/

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {
  constructor(what, error, message) {
    super(`WebDriver ${what}: ${error}${message ? `: ${message.split('\n')[0]}` : ''}`);
    this.error = error;
  }
}

export class WebDriver {
  // BASE: "http://127.0.0.1:PORT"; TIMEOUT: the bound of one command, in ms.
  constructor(base, { timeout = 30000 } = {}) {
    this.base = base;
    this.timeout = timeout;
    this.sessionId = null;
    this.capabilities = null;
  }

  async send(method, path, body, timeout = this.timeout) {
    const what = `${method} ${path.replace(/^\/session\/[^/]+/, '/session/{id}')}`;
    let res;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeout),
      });
    } catch (e) {
      throw new WebDriverError(what, e.name === 'TimeoutError' ? `no answer within ${timeout / 1000} s` : 'driver unreachable', e.cause?.message || e.message);
    }
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    if (!json || typeof json !== 'object') throw new WebDriverError(what, `HTTP ${res.status}`, text.slice(0, 200));
    const v = json.value;
    if (!res.ok || (v && typeof v === 'object' && typeof v.error === 'string')) {
      throw new WebDriverError(what, v?.error || `HTTP ${res.status}`, v?.message);
    }
    return v;
  }

  cmd(method, path, body, timeout) {
    if (!this.sessionId) throw new Error('no WebDriver session');
    return this.send(method, `/session/${this.sessionId}${path}`, body, timeout);
  }

  async status(timeout = 2000) {
    return this.send('GET', '/status', undefined, timeout);
  }

  async newSession(alwaysMatch, timeout) {
    const v = await this.send('POST', '/session', { capabilities: { alwaysMatch } }, timeout);
    this.sessionId = v.sessionId;
    this.capabilities = v.capabilities;
    return v;
  }

  async deleteSession(timeout) {
    if (!this.sessionId) return;
    const id = this.sessionId;
    this.sessionId = null;
    await this.send('DELETE', `/session/${id}`, undefined, timeout);
  }

  setTimeouts(t) {
    return this.cmd('POST', '/timeouts', t);
  }

  navigate(url) {
    return this.cmd('POST', '/url', { url });
  }

  url() {
    return this.cmd('GET', '/url');
  }

  // SCRIPT is a function body; ARGS are its arguments[].
  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async find(using, value) {
    const v = await this.cmd('POST', '/element', { using, value });
    return v[ELEMENT];
  }

  click(el) {
    return this.cmd('POST', `/element/${el}/click`, {});
  }

  clear(el) {
    return this.cmd('POST', `/element/${el}/clear`, {});
  }

  type(el, text) {
    return this.cmd('POST', `/element/${el}/value`, { text });
  }

  // The cookies of the current document's URL (HttpOnly ones included).
  cookies() {
    return this.cmd('GET', '/cookie');
  }

  // Every cookie of the current document's host.
  deleteCookies() {
    return this.cmd('DELETE', '/cookie');
  }
}
