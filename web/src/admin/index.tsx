import { useMe } from "../me";
import { Analytics } from "./analytics";
import { Users } from "./users";
import { Requests } from "./requests";
import { Providers } from "./providers";

/** AdminSection is one tab of the dashboard. */
export type AdminSection = "analytics" | "users" | "requests" | "providers";

const SECTIONS: { id: AdminSection; label: string }[] = [
  { id: "analytics", label: "Analytics" },
  { id: "users", label: "Users" },
  { id: "requests", label: "Requests" },
  { id: "providers", label: "Providers" },
];

/**
 * Admin is the dashboard: analytics, users, the request log and the
 * providers' keys. Others are told it is for admins (its API answers them
 * 403 anyway). arg is the section's argument in the address, such as the
 * user whose requests the log shows.
 */
export function Admin({ email, section, arg }: { email: string; section: AdminSection; arg?: string | undefined }) {
  const me = useMe();
  return (
    <div class="admin">
      <header>
        <a href="#/">Back to chat</a>
        <h1>Dashboard</h1>
        <span class="who" title={email}>{email}</span>
      </header>
      {me === undefined ? (
        <main><p class="muted">Loading…</p></main>
      ) : me === null ? (
        <main><p class="problem" role="alert">Your account could not be read: reload the page to try again.</p></main>
      ) : !me.is_admin ? (
        <main><p class="problem" role="alert">The dashboard is for admins. Ask an admin of this server if you need access.</p></main>
      ) : (
        <>
          <nav class="tabs" aria-label="Dashboard sections">
            {SECTIONS.map((s) => (
              <a href={`#/admin/${s.id}`} key={s.id} aria-current={s.id === section ? "page" : undefined}>{s.label}</a>
            ))}
          </nav>
          <main>
            {section === "analytics" && <Analytics />}
            {section === "users" && <Users />}
            {section === "requests" && <Requests userID={arg} />}
            {section === "providers" && <Providers />}
          </main>
        </>
      )}
    </div>
  );
}
