import { useEffect, useState } from "preact/hooks";
import { session, type Session } from "./session";
import { SignIn } from "./signin";
import { Chat } from "./chat";

/** App shows the sign-in form or, once signed in, the chat. */
export function App() {
  const [s, setS] = useState<Session | null>(session.value);
  useEffect(() => {
    const off = session.subscribe(setS);
    return () => {
      off();
    };
  }, []);
  return s ? <Chat email={s.email} /> : <SignIn />;
}
