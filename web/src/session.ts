// The signed-in session. The API hands out a bearer token (a JWT valid for
// expires_in seconds) and has no refresh flow nor cookie, so the token is
// kept in localStorage with its expiry: the session survives a reload and
// ends when the token expires or the server refuses it (401). The app's
// strict CSP (scripts from this origin only) and sanitised Markdown are
// what keep other scripts away from it.
import { signal } from "./signal";

const KEY = "genzai.session";

export interface Session {
  token: string;
  email: string;
  expiresAt: number; // ms since the epoch
}

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (typeof s.token !== "string" || typeof s.expiresAt !== "number" || s.expiresAt <= Date.now()) {
      localStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

const current = signal<Session | null>(load());

export const session = {
  get value(): Session | null {
    const s = current.value;
    if (s && s.expiresAt <= Date.now()) {
      this.clear();
      return null;
    }
    return s;
  },
  subscribe: current.subscribe,
  save(token: string, email: string, expiresIn: number): void {
    const s: Session = { token, email, expiresAt: Date.now() + expiresIn * 1000 };
    localStorage.setItem(KEY, JSON.stringify(s));
    current.set(s);
  },
  clear(): void {
    localStorage.removeItem(KEY);
    current.set(null);
  },
};
