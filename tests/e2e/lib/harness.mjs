// What a scenario works with: one browser profile (fresh cookies), one page, the running
// server, and helpers that look at the application the way a visitor does (the page's
// #user and #cart) and the way the server does (whoami.php's JSON).  BaseHarness is what the
// Playwright harness here and the WebDriver one (lib/wd-harness.mjs) share.

import { SLOW } from './browsers.mjs';

export const COOKIE = 'shs_session';
export const CALLBACK = '/_shs/cb';
const GO = '/_shs/go'; // a loader tag's src: the page's own go step, ?to=SITE
export const PULL = '/_shs/pull';
// The pull's chain is page 302 -> pull 302 -> hub attach 302 -> cb 302 -> page: four.
export const MAX_REDIRECTS = 4;

export class AssertionError extends Error {}

export class BaseHarness {
  constructor({ server, browser, log }) {
    this.server = server;
    this.browser = browser; // the BROWSERS entry
    this.log = log;
    this.navigations = []; // every page view
    this.transports = []; // { what, how }: how each site got (or lost) the session
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

  // A page view ST of HOST in one line: status, #user, #cart, and its loader tags
  // (loaderText(l): where one points and whether it loaded).
  describe(host, st) {
    const tags = st.loaders.length
      ? `loader tags -> ${st.loaders.map((l) => this.loaderText(l)).join(', ')}`
      : 'no loader tags';
    return `${host}: ${st.status} user=${JSON.stringify(st.user)} cart=${st.cart}, ${tags}`;
  }

  // whoami.php's JSON BODY on HOST -> the session, logged.  PHP encodes an empty session as
  // [], a full one as an object; "expiry" is mod_session's own bookkeeping (SessionMaxAge),
  // present even in an anonymous session.
  whoamiSession(host, body, pulled) {
    const { expiry, ...session } = Array.isArray(body.session) ? {} : body.session;
    this.step(`whoami on ${host}: ${JSON.stringify(session)}${expiry ? ' (+ expiry)' : ''}${pulled ? ' (pulled first)' : ''}`);
    return session;
  }
}

export class Harness extends BaseHarness {
  constructor({ server, browser, context, page, cookies, log }) {
    super({ server, browser, log });
    this.context = context;
    this.page = page;
    this.cookieRecorder = cookies; // null where the engine cannot tell
    this.callbacks = []; // every response of a /_shs/cb request the page made
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

  // State of the page now shown: status of its document, #user, #cart, and the loader tags
  // the module injected (one hidden <img> per other site that should get the session: its src
  // is this site's go step, which redirects to that site's callback).
  async pageState(response) {
    const page = this.page;
    const dom = await page.evaluate((go) => ({
      user: document.querySelector('#user')?.textContent.trim() ?? null,
      cart: document.querySelector('#cart')?.textContent.trim() ?? null,
      loaders: [...document.querySelectorAll('img')]
        .filter((i) => new URL(i.src, location.href).pathname === go)
        .map((i) => ({ host: new URL(i.src, location.href).searchParams.get('to'), complete: i.complete, width: i.naturalWidth })),
    }), GO);
    return { status: response ? response.status() : null, url: page.url(), ...dom };
  }

  loaderText(l) {
    return `${l.host}${l.complete && l.width === 1 ? ' (loaded)' : ' (NOT loaded)'}`;
  }

  // The redirect chain that ended in RES, as "host path status" hops (the host only where it
  // changes, the query left out), and whether it went through the pull.
  async chainOf(res) {
    const reqs = [];
    for (let r = res?.request(); r; r = r.redirectedFrom()) reqs.unshift(r);
    const hops = [];
    let prev = null;
    for (const r of reqs) {
      const u = new URL(r.url());
      const rr = await r.response();
      hops.push(`${u.hostname === prev ? '' : `${u.hostname} `}${r.method() === 'GET' ? '' : `${r.method()} `}${u.pathname} ${rr ? rr.status() : '?'}`);
      prev = u.hostname;
    }
    return { hops, redirects: reqs.length - 1, pulled: reqs.some((r) => new URL(r.url()).pathname === PULL) };
  }

  // The page's images (the loader tags) have all been answered.  The load event already waits
  // for them; this bounded check keeps that explicit without networkidle's 500 ms of silence.
  async settled() {
    await this.page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 5000 * SLOW, polling: 100 });
  }

  // Opens https://HOST:PORT/PATH as a typed URL would (a top-level navigation, no referrer),
  // waits until the page and its loader images are loaded, and checks that the page was
  // reached without a redirect loop.
  async home(host, urlPath = '/') {
    const res = await this.page.goto(`${this.site(host)}${urlPath}`, { waitUntil: 'load' });
    await this.settled();
    const st = await this.pageState(res);
    Object.assign(st, await this.chainOf(res));
    this.step(`open  ${this.describe(host, st)}${st.redirects ? `; chain ${st.hops.join(' -> ')}` : ''}`);
    this.expect(st.redirects <= MAX_REDIRECTS, `${host}${urlPath}: ${st.redirects} redirects (a loop?): ${st.hops.join(' -> ')}`);
    return st;
  }

  // Records how HOST's page view ST got its session: through the pull (the chain went through
  // /_shs/pull and the hub), or from the cookie it already held (set earlier by the push or a
  // pull).  The runner prints these per scenario.
  transport(what, st, held = 'cookie already held') {
    const how = st.pulled ? `pull (${st.hops.join(' -> ')})` : held;
    this.transports.push({ what, how: st.pulled ? 'pull' : held });
    this.step(`transport for ${what}: ${how}`);
  }

  // Polls FN until it returns a truthy value, for at most MS milliseconds.
  async waitFor(what, ms, fn, step = 250) {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) return v;
      await this.page.waitForTimeout(step);
    }
  }

  // Clicks a form button on the current page and follows the POST -> 303 -> GET / chain (the
  // GET may be bounced by the pull: at most 4 redirects after the application's own 303).
  async submit(buttonName, fill) {
    const host = new URL(this.page.url()).hostname;
    if (fill) {
      for (const [selector, value] of Object.entries(fill)) await this.page.fill(selector, value);
    }
    const nav = this.page.waitForNavigation({ waitUntil: 'load' });
    await this.page.getByRole('button', { name: buttonName }).click({ noWaitAfter: true });
    const res = await nav;
    await this.settled();
    const chain = [];
    for (let r = res?.request(); r; r = r.redirectedFrom()) chain.unshift(r);
    const hops = [];
    for (const r of chain) {
      const rr = await r.response();
      hops.push(`${r.method()} ${new URL(r.url()).pathname} ${rr ? rr.status() : '?'}`);
    }
    const st = await this.pageState(res);
    st.chain = hops;
    st.pulled = chain.some((r) => new URL(r.url()).pathname === PULL);
    this.step(`click "${buttonName}" on ${host}: ${hops.join(' -> ')}`);
    this.step(`now   ${this.describe(host, st)}`);
    const bounces = chain.filter((r) => r.method() === 'GET').length - 1;
    this.expect(bounces <= MAX_REDIRECTS, `"${buttonName}" on ${host}: ${bounces} redirects after the form's own (a loop?): ${hops.join(' -> ')}`);
    return st;
  }

  // The session as the server sees it for this browser on HOST.
  async whoami(host) {
    const res = await this.page.goto(`${this.site(host)}/whoami.php`);
    this.expect(res && res.status() === 200, `whoami on ${host}: status ${res && res.status()}`);
    const chain = await this.chainOf(res);
    this.expect(chain.redirects <= MAX_REDIRECTS, `whoami on ${host}: ${chain.redirects} redirects: ${chain.hops.join(' -> ')}`);
    return this.whoamiSession(host, JSON.parse(await res.text()), chain.pulled);
  }

  // The session id cookie this browser holds for HOST (HttpOnly: read from the browser's jar).
  // Firefox (WebDriver BiDi) lists the cookies of every partition without saying which: there
  // a cookie set by the push inside another site's page (third-party, SameSite=None) can sit
  // next to the first-party one; the first-party one is preferred.
  async sessionCookie(host) {
    const all = (await this.context.cookies(`${this.site(host)}/`)).filter((c) => c.name === COOKIE);
    return (all.find((c) => c.sameSite !== 'None') ?? all[0])?.value ?? null;
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
