// The signed-in account as GET /api/v1/me describes it, read once per
// session and shared: the chat's header shows the dashboard's entry only
// to admins, and the dashboard refuses others before its API does.
import { useEffect, useState } from "preact/hooks";
import { api, type Me } from "./api/client";
import { session } from "./session";

let cached: { token: string; me: Promise<Me | null> } | null = null;

/**
 * loadMe fetches the account once per session token; null when it cannot
 * be read (and then the next call reads it again).
 */
export function loadMe(): Promise<Me | null> {
  const token = session.value?.token;
  if (!token) return Promise.resolve(null);
  if (cached?.token !== token) {
    const mine = {
      token,
      me: api.GET("/api/v1/me").then((r) => r.data ?? null, () => null),
    };
    cached = mine;
    // A failed read is not kept for the session: a passing network error
    // would hide the dashboard from an admin until they signed in again.
    void mine.me.then((m) => {
      if (m === null && cached === mine) cached = null;
    });
  }
  return cached.me;
}

/** useMe is the signed-in account: undefined until read, null when it could not be. */
export function useMe(): Me | null | undefined {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void loadMe().then((m) => live && setMe(m));
    return () => {
      live = false;
    };
  }, []);
  return me;
}
