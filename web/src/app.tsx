import { useEffect, useState } from "preact/hooks";
import { session, type Session } from "./session";
import { SignIn } from "./signin";
import { Chat } from "./chat";
import { Settings } from "./settings";

// page is the page the address's hash names: #/settings, or the chat.
function page(): "chat" | "settings" {
  return location.hash === "#/settings" ? "settings" : "chat";
}

/** App shows the sign-in form or, once signed in, the chat or the settings. */
export function App() {
  const [s, setS] = useState<Session | null>(session.value);
  const [p, setP] = useState(page());
  useEffect(() => {
    const off = session.subscribe(setS);
    const onHash = () => setP(page());
    window.addEventListener("hashchange", onHash);
    return () => {
      off();
      window.removeEventListener("hashchange", onHash);
    };
  }, []);
  if (!s) return <SignIn />;
  return p === "settings" ? <Settings email={s.email} /> : <Chat email={s.email} />;
}
