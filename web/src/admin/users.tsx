/** Users: Users (issue 25; to be filled in). */
export function Users() {
  return <section aria-label="Users"><p class="muted">Coming soon.</p></section>;
}
