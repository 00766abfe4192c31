// What a scenario works with in a browser driven over plain W3C WebDriver (WebKit,
// lib/webkit.mjs): the same helpers as lib/harness.mjs (home, submit, whoami, transport, step,
// expect, equal) with the same results, but WebDriver reports neither the status of a page
// nor its redirect chain nor the cookies of a site other than the current one.  So those
// come from the server: httpd's access log (lib/server.mjs) gives each request's host,
// method, target, status, Location and the id cookie it carried, and a page view's chain is
// rebuilt by following the Locations from its first request.
//
// How a site got its session (transport()): through the pull when the chain went through
// /_shs/pull; otherwise from the id its first request carried: none, an id this site's pages
// had already received (cookie already held), or an id they never had and no bounce brought
// (set by the push's callback in a third-party context).

import { AssertionError, BaseHarness, CALLBACK, COOKIE, MAX_REDIRECTS, PULL } from './harness.mjs';
import { SLOW } from './browsers.mjs';
import { sleep } from './proc.mjs';
import { LogTail } from './server.mjs';

// One access-log line (lib/server.mjs): %v %h "%r" %>s "%{Location}o" %<{SHS_E2E_SENT_ID}e,
// the last field the start of the id cookie the request carried
const LINE = /^(\S+) \S+ "(\S+) (\S+) [^"]*" (\d{3}) "([^"]*)" (\S+)$/;

export function parseAccessLine(l) {
  const m = LINE.exec(l);
  if (!m) return null;
  return {
    host: m[1].toLowerCase(), method: m[2], target: m[3], status: Number(m[4]),
    location: m[5] === '-' ? null : m[5], id: m[6] === '-' ? null : m[6],
  };
}

// Whether the logged request target LOGGED is the request for TARGET (a path and query, from
// a Location or the address asked for): same path, same parameters, each with the same value
// once decoded, except where the module wrote "-" in the log for a token it keeps out of logs.
export function sameTarget(logged, target) {
  if (logged === target) return true;
  const a = new URL(logged, 'https://x');
  const b = new URL(target, 'https://x');
  if (a.pathname !== b.pathname) return false;
  const ka = [...a.searchParams.keys()];
  const kb = [...b.searchParams.keys()];
  if (ka.join('&') !== kb.join('&')) return false;
  return kb.every((k) => a.searchParams.get(k) === '-' || a.searchParams.get(k) === b.searchParams.get(k));
}

const isPushCallback = (r) => r.method === 'GET' && new URL(r.target, 'https://x').pathname === CALLBACK && !/[?&]r=/.test(r.target);

// What the page shows: #user, #cart, and the module's loader tags (images whose address is
// under /_shs/, whatever their shape), with whether they loaded.
const PAGE_STATE = `
  const q = (s) => document.querySelector(s);
  return {
    url: location.href,
    ready: document.readyState,
    user: q('#user') ? q('#user').textContent.trim() : null,
    cart: q('#cart') ? q('#cart').textContent.trim() : null,
    loaders: [...document.images].filter((i) => new URL(i.src, location.href).pathname.startsWith('/_shs/'))
      .map((i) => ({ at: new URL(i.src, location.href).host + new URL(i.src, location.href).pathname, complete: i.complete, width: i.naturalWidth })),
  };`;

export class WebDriverHarness extends BaseHarness {
  constructor({ server, browser, session, log }) {
    super({ server, browser, log });
    this.session = session; // what browser.launch() returned: { driver, ... }
    this.driver = session.driver;
    this.access = new LogTail(server.accessLog);
    this.requests = []; // every access-log request since the harness began, parsed
    this.cookieRecorder = null; // no refused-cookie reports over WebDriver
    this.reason = null;
    this.access.read(); // earlier scenarios' lines are not ours
  }

  // New access-log lines, parsed, appended to this.requests; returns the index where they begin.
  drain() {
    const from = this.requests.length;
    for (const l of this.access.read()) {
      const r = parseAccessLine(l);
      if (r) this.requests.push(r);
    }
    return from;
  }

  // The chain of requests that starts with the first request from index FROM matching FIRST,
  // following each redirect's Location to the next request for it; null until complete.
  chainFrom(from, first) {
    let i = this.requests.findIndex((r, k) => k >= from && first(r));
    if (i < 0) return null;
    const chain = [this.requests[i]];
    for (;;) {
      const cur = this.requests[i];
      if (cur.status < 300 || cur.status > 399) return chain;
      if (!cur.location) return chain; // a redirect without a Location ends it
      const next = new URL(cur.location, `https://${cur.host}${cur.target}`);
      const target = `${next.pathname}${next.search}`;
      const host = next.hostname.toLowerCase();
      const j = this.requests.findIndex((r, k) => k > i && r.host === host && r.method === 'GET' && sameTarget(r.target, target));
      if (j < 0) return null;
      chain.push(this.requests[j]);
      i = j;
      if (chain.length > 20) return chain; // a loop: reported by the redirect bound
    }
  }

  // Waits (bounded) until the access log holds the whole chain.
  async waitChain(from, first, what) {
    const end = Date.now() + 5000 * SLOW;
    for (;;) {
      this.drain();
      const c = this.chainFrom(from, first);
      if (c) return c;
      if (Date.now() > end) {
        const seen = this.requests.slice(from).map((r) => `${r.host} ${r.method} ${r.target} ${r.status}`);
        throw new Error(`${what}: the access log does not hold its whole redirect chain after ${5 * SLOW} s; requests since: ${seen.join(', ') || 'none'}`);
      }
      await sleep(50);
    }
  }

  describeChain(chain) {
    let prev = null;
    return chain.map((r) => {
      const s = `${r.host === prev ? '' : `${r.host} `}${r.method === 'GET' ? '' : `${r.method} `}${new URL(r.target, 'https://x').pathname} ${r.status}`;
      prev = r.host;
      return s;
    });
  }

  // The page now shown, once loaded and its images answered (bounded); NOTOLD: a marker set on
  // the previous document must be gone (the click's navigation has replaced it).
  async pageState(notOld = false) {
    const end = Date.now() + 10000 * SLOW;
    for (;;) {
      const st = await this.driver.execute(`
        if (${notOld} && window.__shsOldPage) return null;
        if (document.readyState !== 'complete' || ![...document.images].every((i) => i.complete)) return null;
        ${PAGE_STATE}`);
      if (st) return st;
      if (Date.now() > end) throw new Error(`the page did not finish loading within ${10 * SLOW} s`);
      await sleep(100);
    }
  }

  loaderText(l) {
    return `${l.at}${l.complete && l.width > 0 ? ' (loaded)' : ' (NOT loaded)'}`;
  }

  // A chain's facts: status of the last document, redirects, hops, pulled, the id the first
  // request carried, and FROM: where the requests of this page view begin in this.requests.
  chainFacts(chain, from) {
    const last = chain[chain.length - 1];
    return {
      status: last.status,
      redirects: chain.length - 1,
      hops: this.describeChain(chain),
      pulled: chain.some((r) => new URL(r.target, 'https://x').pathname === PULL),
      sent: chain[0].id,
      from,
      chainStart: this.requests.indexOf(chain[0]),
    };
  }

  // Opens https://HOST:PORT/PATH as a typed URL would (top-level, no referrer), waits for the
  // page and its images, and checks that it was reached without a redirect loop.
  async home(host, urlPath = '/') {
    const from = this.drain();
    await this.driver.navigate(`${this.site(host)}${urlPath}`);
    const chain = await this.waitChain(from, (r) => r.host === host && r.method === 'GET' && sameTarget(r.target, urlPath), `${host}${urlPath}`);
    const st = { ...(await this.pageState()), ...this.chainFacts(chain, from) };
    this.navigations.push({ host, target: urlPath, status: st.status });
    this.step(`open  ${this.describe(host, st)}; sent ${st.sent ? 'an id' : 'no id'}${st.redirects ? `; chain ${st.hops.join(' -> ')}` : ''}`);
    this.expect(st.redirects <= MAX_REDIRECTS, `${host}${urlPath}: ${st.redirects} redirects (a loop?): ${st.hops.join(' -> ')}`);
    return st;
  }

  // Whether HOST's own pages had already received ID before index BEFORE: the start of the
  // page view (its document's line can come after its subresources' ones: httpd logs a request
  // when it ends), a request other than the push's callbacks (they carry a pushed cookie).
  heldBefore(host, id, before) {
    return this.requests.some((r, k) => k < before && r.host === host && r.id === id && !isPushCallback(r));
  }

  // How HOST's page view ST got its session, from the server's side (see the top).
  transport(what, st, held = 'cookie already held') {
    let how;
    if (st.pulled) how = 'pull';
    else if (!st.sent) how = 'none: no bounce, no cookie';
    else if (this.heldBefore(new URL(st.url).hostname, st.sent, st.from)) how = held;
    else {
      const h = new URL(st.url).hostname;
      const cbs = this.requests.slice(0, st.chainStart).filter((r) => r.host === h && isPushCallback(r)).length;
      how = cbs ? 'push (cookie set by the callback, no bounce)' : 'an id this site never had, no bounce and no push callback (?)';
    }
    this.transports.push({ what, how });
    this.step(`transport for ${what}: ${how}${st.pulled ? ` (${st.hops.join(' -> ')})` : ''}`);
  }

  // The push's callbacks answered since the request at index FROM, from the access log.
  callbacksSince(from) {
    this.drain();
    return this.requests.slice(from).filter(isPushCallback).map((r) => ({ host: r.host, status: r.status }));
  }

  // Clicks the form button BUTTONNAME on the current page (after filling FILL: selector ->
  // value) and follows the POST -> 303 -> GET chain.
  async submit(buttonName, fill) {
    const host = new URL(await this.driver.url()).hostname;
    if (fill) {
      for (const [selector, value] of Object.entries(fill)) {
        const el = await this.driver.find('css selector', selector);
        await this.driver.clear(el);
        await this.driver.type(el, value);
      }
    }
    const button = await this.driver.find('xpath', `//button[normalize-space(.)=${JSON.stringify(buttonName)}]`);
    await this.driver.execute('window.__shsOldPage = true;');
    const from = this.drain();
    await this.driver.click(button);
    const chain = await this.waitChain(from, (r) => r.host === host && r.method === 'POST', `"${buttonName}" on ${host}`);
    const st = { ...(await this.pageState(true)), ...this.chainFacts(chain, from) };
    st.chain = chain.map((r) => `${r.method} ${new URL(r.target, 'https://x').pathname} ${r.status}`);
    this.navigations.push({ host, target: chain[0].target, status: st.status });
    this.step(`click "${buttonName}" on ${host}: ${st.chain.join(' -> ')}`);
    this.step(`now   ${this.describe(host, st)}`);
    const bounces = chain.length - 2;
    this.expect(bounces <= MAX_REDIRECTS, `"${buttonName}" on ${host}: ${bounces} redirects after the form's own (a loop?): ${st.hops.join(' -> ')}`);
    return st;
  }

  // The session as the server sees it for this browser on HOST.
  async whoami(host) {
    const from = this.drain();
    await this.driver.navigate(`${this.site(host)}/whoami.php`);
    const chain = await this.waitChain(from, (r) => r.host === host && r.method === 'GET' && sameTarget(r.target, '/whoami.php'), `whoami on ${host}`);
    const facts = this.chainFacts(chain, from);
    this.navigations.push({ host, target: '/whoami.php', status: facts.status });
    this.expect(facts.status === 200, `whoami on ${host}: status ${facts.status}`);
    this.expect(facts.redirects <= MAX_REDIRECTS, `whoami on ${host}: ${facts.redirects} redirects: ${facts.hops.join(' -> ')}`);
    const text = await this.driver.execute('return document.body ? document.body.innerText : ""');
    let body;
    try { body = JSON.parse(text); } catch { throw new AssertionError(`whoami on ${host}: not JSON: ${text.slice(0, 100)}`); }
    return this.whoamiSession(host, body, facts.pulled);
  }

  // Empties the cookie jar of every site: WebDriver deletes the cookies of the current
  // document's host only, so each site is visited at a path that does not exist, with
  // shs_nopull=1 (never bounced, README), its cookies deleted, and the deletion checked.
  async clearCookies(hosts) {
    await this.driver.navigate('about:blank');
    const left = {};
    for (const h of hosts) {
      await this.driver.navigate(`${this.site(h)}/shs-e2e-clear-cookies?shs_nopull=1`);
      await this.driver.deleteCookies();
      left[h] = (await this.driver.cookies()).map((c) => c.name);
    }
    await this.driver.navigate('about:blank');
    return left;
  }

  // The id cookie of the current document's site, from the browser's jar.
  async currentSessionCookie() {
    return (await this.driver.cookies()).find((c) => c.name === COOKIE)?.value ?? null;
  }
}
