/** Requests is the request log, newest first, optionally one user's (issue 25; to be filled in). */
export function Requests({ userID }: { userID?: string | undefined }) {
  return <section aria-label="Requests"><p class="muted">Coming soon{userID ? ` (${userID})` : ""}.</p></section>;
}
