// The signed-in account as GET /api/v1/me describes it, read once per
// session and shared: the chat's header shows the dashboard's entry only
// to admins, and the dashboard refuses others before its API does.
import { useEffect, useState } from "preact/hooks";
import { api, type Me } from "./api/client";
import { session } from "./session";

let cached: { token: string; me: Promise<Me | null> } | null = null;

/** loadMe fetches the account once per session token; null when it cannot be read. */
export function loadMe(): Promise<Me | null> {
  const token = session.value?.token;
  if (!token) return Promise.resolve(null);
  if (cached?.token !== token) {
    cached = {
      token,
      me: api.GET("/api/v1/me").then((r) => r.data ?? null, () => null),
    };
  }
  return cached.me;
}

/** useMe is the signed-in account, or null until (or unless) it is known. */
export function useMe(): Me | null {
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    let live = true;
    void loadMe().then((m) => live && setMe(m));
    return () => {
      live = false;
    };
  }, []);
  return me;
}
