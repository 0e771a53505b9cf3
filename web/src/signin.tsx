import { useState } from "preact/hooks";
import { api, problemOf, type Problem } from "./api/client";
import { session } from "./session";
import { ProblemView } from "./problem";

type Mode = "signin" | "register";

/** SignIn is the sign-in and registration form (email and password). */
export function SignIn() {
  const [mode, setMode] = useState<Mode>("signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      if (mode === "register") {
        const r = await api.POST("/api/v1/auth/register", { body: { email, password } });
        if (r.error) return setProblem(problemOf(r.error, r.response));
      }
      // An empty password asks for the email-only login that development
      // servers allow (AUTH_ALLOW_EMAIL_LOGIN); others refuse it in words.
      const body = password === "" ? { email } : { email, password };
      const r = await api.POST("/api/v1/auth/login", { body });
      if (r.error) return setProblem(problemOf(r.error, r.response));
      session.save(r.data.access_token, email.trim().toLowerCase(), r.data.expires_in);
    } catch (err) {
      setProblem(problemOf(err));
    } finally {
      setBusy(false);
    }
  }

  const registering = mode === "register";
  return (
    <main class="signin">
      <h1>genzai</h1>
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h2 id="signin-title">{registering ? "Create an account" : "Sign in"}</h2>
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="email" required value={email}
          onInput={(e) => setEmail(e.currentTarget.value)} />
        <label for="password">Password{registering ? " (8 to 128 characters)" : ""}</label>
        <input id="password" name="password" type="password" required={registering}
          minLength={registering ? 8 : undefined} maxLength={128}
          autocomplete={registering ? "new-password" : "current-password"} value={password}
          onInput={(e) => setPassword(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>{registering ? "Create account" : "Sign in"}</button>
        <ProblemView problem={problem} />
      </form>
      <p>
        {registering ? "Have an account? " : "New here? "}
        <button type="button" class="link" onClick={() => { setMode(registering ? "signin" : "register"); setProblem(null); }}>
          {registering ? "Sign in" : "Create an account"}
        </button>
      </p>
      <p class="muted">The API is documented at <a href="/docs">/docs</a>; the providers' state is on the <a href="#/status">status page</a>.</p>
    </main>
  );
}
