/** Status is the public status page: each provider's state, uptime and latency (issue 25; filled in by the status work). */
export function Status({ signedIn }: { signedIn: boolean }) {
  return (
    <div class="status-page">
      <header>
        <a href="#/">{signedIn ? "Back to chat" : "Sign in"}</a>
        <h1>Service status</h1>
      </header>
      <main>
        <p class="muted">Loading…</p>
      </main>
    </div>
  );
}
