// What a scenario works with: one browser profile (fresh cookies), one page, the running
// server, and helpers that look at the application the way a visitor does (the page's
// #user and #cart) and the way the server does (whoami.php's JSON).

export const COOKIE = 'shs_session';
const CALLBACK = '/_shs/cb';

export class AssertionError extends Error {}

export class Harness {
  constructor({ server, browser, context, page, cookies, log }) {
    this.server = server;
    this.browser = browser; // the BROWSERS entry
    this.context = context;
    this.page = page;
    this.cookieRecorder = cookies; // null where the engine cannot tell
    this.log = log;
    this.callbacks = []; // every response of a /_shs/cb request the page made
    this.navigations = []; // every main-frame document response
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (url.pathname === CALLBACK) {
        this.callbacks.push({ host: url.host, status: res.status(), type: res.headers()['content-type'] });
      }
      if (res.request().isNavigationRequest() && res.frame() === page.mainFrame()) {
        this.navigations.push({ method: res.request().method(), url: res.url(), status: res.status() });
      }
    });
  }

  site(host) {
    return this.server.site(host);
  }

  step(msg) {
    this.log(`  - ${msg}`);
  }

  expect(cond, msg) {
    if (!cond) throw new AssertionError(msg);
  }

  equal(actual, expected, what) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) throw new AssertionError(`${what}: expected ${e}, got ${a}`);
  }

  // State of the page now shown: status of its document, #user, #cart, and the loader tags
  // the module injected (one hidden <img> per other site that should get the session).
  async pageState(response) {
    const page = this.page;
    const dom = await page.evaluate((cb) => ({
      user: document.querySelector('#user')?.textContent.trim() ?? null,
      cart: document.querySelector('#cart')?.textContent.trim() ?? null,
      loaders: [...document.querySelectorAll('img')]
        .filter((i) => new URL(i.src, location.href).pathname === cb)
        .map((i) => ({ host: new URL(i.src).host, complete: i.complete, width: i.naturalWidth })),
    }), CALLBACK);
    return { status: response ? response.status() : null, url: page.url(), ...dom };
  }

  describe(host, st) {
    const tags = st.loaders.length
      ? `loader tags -> ${st.loaders.map((l) => `${l.host}${l.complete && l.width === 1 ? ' (loaded)' : ' (NOT loaded)'}`).join(', ')}`
      : 'no loader tags';
    return `${host}: ${st.status} user=${JSON.stringify(st.user)} cart=${st.cart}, ${tags}`;
  }

  // Opens https://HOST:PORT/ and waits until the network is idle (the loader images too).
  async home(host) {
    const res = await this.page.goto(`${this.site(host)}/`, { waitUntil: 'load' });
    await this.page.waitForLoadState('networkidle');
    const st = await this.pageState(res);
    this.step(`open  ${this.describe(host, st)}`);
    return st;
  }

  // Clicks a form button on the current page and follows the POST -> 303 -> GET / chain.
  async submit(buttonName, fill) {
    const host = new URL(this.page.url()).hostname;
    if (fill) {
      for (const [selector, value] of Object.entries(fill)) await this.page.fill(selector, value);
    }
    const nav = this.page.waitForNavigation({ waitUntil: 'load' });
    await this.page.getByRole('button', { name: buttonName }).click({ noWaitAfter: true });
    const res = await nav;
    await this.page.waitForLoadState('networkidle');
    const chain = [];
    for (let r = res?.request(); r; r = r.redirectedFrom()) chain.unshift(r);
    const hops = [];
    for (const r of chain) {
      const rr = await r.response();
      hops.push(`${r.method()} ${new URL(r.url()).pathname} ${rr ? rr.status() : '?'}`);
    }
    const st = await this.pageState(res);
    st.chain = hops;
    this.step(`click "${buttonName}" on ${host}: ${hops.join(' -> ')}`);
    this.step(`now   ${this.describe(host, st)}`);
    return st;
  }

  // The session as the server sees it for this browser on HOST.
  async whoami(host) {
    const res = await this.page.goto(`${this.site(host)}/whoami.php`);
    this.expect(res && res.status() === 200, `whoami on ${host}: status ${res && res.status()}`);
    const body = JSON.parse(await res.text());
    // PHP encodes an empty session as [], a full one as an object; "expiry" is mod_session's
    // own bookkeeping (SessionMaxAge), present even in an anonymous session
    const { expiry, ...session } = Array.isArray(body.session) ? {} : body.session;
    this.step(`whoami on ${host}: ${JSON.stringify(session)}${expiry ? ' (+ expiry)' : ''}`);
    return session;
  }

  // The session id cookie this browser holds for HOST (HttpOnly: read from the browser's jar).
  async sessionCookie(host) {
    const all = await this.context.cookies(`${this.site(host)}/`);
    return all.find((c) => c.name === COOKIE)?.value ?? null;
  }

  async sessionCookies(hosts) {
    const out = {};
    for (const h of hosts) out[h] = await this.sessionCookie(h);
    return out;
  }

  // The refusals (or exemptions) the browser reported for the callbacks' cookies so far.
  cookieEvents(kind) {
    if (!this.cookieRecorder) return null;
    return this.cookieRecorder.events.filter((e) => (!kind || e.kind === kind) && new URL(e.url, 'https://x/').pathname === CALLBACK);
  }
}

export const short = (id) => (id ? `${id.slice(0, 8)}…` : 'none');
