// The server's JSON API as the page uses it: the session (token kept in
// sessionStorage, sent as "Authorization: Bearer"; the server's HttpOnly
// cookie covers EventSource, which cannot send headers), and one fetch
// wrapper that turns error bodies {"error":{"code","message"}} into ApiError.

const SESSION_KEY = 'ebaysync.session';

let session = null;
let unauthorizedHandler = () => {};

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

// expires_at may come as an ISO string or epoch seconds/milliseconds.
export function parseTime(v) {
  if (v === null || v === undefined || v === '') return NaN;
  if (typeof v === 'number') return v < 1e12 ? v * 1000 : v;
  if (/^\d+$/.test(String(v))) return parseTime(Number(v));
  return Date.parse(v);
}

export function getSession() {
  return session;
}

// The session saved in this tab, if it has not expired.
export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.token === 'string' && s.token) {
      const exp = parseTime(s.expires_at);
      if (Number.isNaN(exp) || exp > Date.now()) session = s;
    }
  } catch {
    session = null;
  }
  if (!session) sessionStorage.removeItem(SESSION_KEY);
  return session;
}

export function clearSession() {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
}

// Called once when any request answers 401 while signed in.
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

export function userName(s = session) {
  if (!s) return '';
  const u = s.user;
  if (u && typeof u === 'object') return String(u.name ?? u.username ?? u.id ?? '');
  return String(u ?? '');
}

// One request. Resolves {status, data} for 2xx; rejects with ApiError
// otherwise (status 0 when the server cannot be reached).
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'cannot reach the server; is ebaysync serve running?', null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data && typeof data.error === 'object' && data.error ? data.error : {};
    const message = e.message || `${method} ${path} answered HTTP ${res.status}`;
    const err = new ApiError(res.status, e.code || `http_${res.status}`, message, data);
    if (res.status === 401 && session && path !== '/auth/login') {
      clearSession();
      unauthorizedHandler(err);
    }
    throw err;
  }
  return { status: res.status, data };
}

export async function login(username, password) {
  const { data } = await api('POST', '/auth/login', { username, password });
  if (!data || typeof data.token !== 'string' || !data.token)
    throw new ApiError(500, 'bad_response', 'the server answered the login without a token', data);
  session = { token: data.token, user: data.user ?? username, expires_at: data.expires_at ?? null };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export async function logout() {
  try {
    if (session) await api('POST', '/auth/logout');
  } catch {
    // Signing out locally is what matters; the cookie expires on its own.
  } finally {
    clearSession();
  }
}
