// Errors in words a user can act on, for the chat, image mode and voice:
// the same codes call for different advice (a spent quota says what an
// image costs; not_found is a deleted conversation for a chat, and a
// feature turned off for images and voice).
import type { Problem, Quota } from "./api/client";

/** Kind is what the failed request asked for. */
export type Kind = "chat" | "image" | "voice";

/** Context is what the words need beside the error. */
export interface Context {
  kind: Kind;
  quota: Quota | null;
  // imageCost: the units an image takes (images.quota_cost).
  imageCost?: number | undefined;
  // left: the units the quota had left before an image was refused (as
  // the page last read them: a refusal's own used and limit count the
  // units taken on the way to it, then given back).
  left?: number | undefined;
}

/** explain words the errors a user can act on; others keep the server's words. */
export function explain(p: Problem, c: Context): Problem {
  const again = c.quota ? resetTime(c.quota) : "midnight UTC";
  const tier = c.kind === "chat" ? ", or pick another tier" : "";
  const retry = c.kind === "chat" ? "send again" : "try again";
  switch (p.code) {
    case "quota_exceeded":
      if (c.kind === "image" && c.imageCost !== undefined) {
        const left = c.left !== undefined ? ` and you have ${Math.max(c.left, 0)} left` : "";
        return { ...p, message: `An image costs ${c.imageCost} of today's requests${left}. They renew at ${again}.` };
      }
      return { ...p, message: `You have used today's requests. You can ${c.kind === "chat" ? "chat" : "use it"} again at ${again}.` };
    case "email_unverified":
      return { ...p, message: "Confirm your email first: follow the link we mailed you." };
    case "conversation_busy":
      return { ...p, message: "This conversation is still answering: wait for it to finish, then send again." };
    case "rate_limited":
    case "provider_rate_limited":
      return { ...p, message: `Too many requests right now: wait a few seconds, then ${retry}.` };
    case "providers_unavailable":
    case "upstream_error":
    case "timeout":
      return { ...p, message: `No provider could answer this time: try again in a minute${tier}.` };
    case "stream_interrupted":
      return { ...p, message: "The answer was cut short by the provider: press Regenerate to ask again." };
    case "unavailable":
    case "shutting_down":
      return { ...p, message: `The server is busy or restarting: ${retry} in a moment.` };
    case "not_found":
      switch (c.kind) {
        case "image":
          return { ...p, message: "Image generation is off on this server." };
        case "voice":
          return { ...p, message: "Voice is off on this server." };
        default:
          return { ...p, message: "This conversation no longer exists: start a new chat." };
      }
    case "payload_too_large":
      return c.kind === "voice" ? { ...p, message: "The recording is too long for this server: record a shorter one." } : p;
    case "unsupported_media_type":
      return c.kind === "voice" ? { ...p, message: "The server does not take this browser's recording format: try another browser." } : p;
    case "invalid_request":
      return { ...p, message: `The request was refused: ${p.message}. Change it and ${retry}.` };
    default:
      return p;
  }
}

/**
 * resetTime is when the quota resets, in the user's local time (with the
 * day when that is not today).
 */
export function resetTime(q: Quota): string {
  const at = new Date(q.resets_at);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return at.toDateString() === new Date().toDateString()
    ? time
    : `${at.toLocaleDateString([], { weekday: "long" })} ${time}`;
}
