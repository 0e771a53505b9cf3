import { useEffect, useState } from "preact/hooks";
import { session, type Session } from "./session";
import { SignIn } from "./signin";
import { Chat } from "./chat";
import { Settings } from "./settings";
import { Status } from "./status";
import { Admin, type AdminSection } from "./admin";

/** Route is the page the address's hash names. */
export type Route =
  | { page: "chat" }
  | { page: "settings" }
  | { page: "status" }
  | { page: "admin"; section: AdminSection; arg?: string | undefined };

// route reads the hash: #/settings, #/status, #/admin/<section>[/<arg>],
// anything else the chat.
export function route(hash: string = location.hash): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decode);
  switch (parts[0]) {
    case "settings":
      return { page: "settings" };
    case "status":
      return { page: "status" };
    case "admin": {
      const section = (["analytics", "users", "requests", "providers"] as const).find((s) => s === parts[1]) ?? "analytics";
      return { page: "admin", section, arg: parts[2] || undefined };
    }
    default:
      return { page: "chat" };
  }
}

// decode is a hash part percent-decoded, or as it stands when it is not
// percent-encoded text (decodeURIComponent throws on "%E0").
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * App shows the public status page to anyone, the sign-in form to a
 * visitor, and once signed in the chat, the settings or (for admins) the
 * dashboard.
 */
export function App() {
  const [s, setS] = useState<Session | null>(session.value);
  const [r, setR] = useState<Route>(route());
  useEffect(() => {
    const off = session.subscribe(setS);
    const onHash = () => setR(route());
    window.addEventListener("hashchange", onHash);
    return () => {
      off();
      window.removeEventListener("hashchange", onHash);
    };
  }, []);
  if (r.page === "status") return <Status signedIn={s !== null} />;
  if (!s) return <SignIn />;
  switch (r.page) {
    case "settings":
      return <Settings email={s.email} />;
    case "admin":
      return <Admin email={s.email} section={r.section} arg={r.arg} />;
    default:
      return <Chat email={s.email} />;
  }
}
