// The API client: openapi-fetch over the types openapi-typescript generates
// from api/openapi.yaml (src/api/schema.d.ts), so that a spec change that
// breaks a call fails `npm run check`.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { session } from "../session";

export type ApiError = components["schemas"]["Error"];
export type ModelInfo = components["schemas"]["ModelInfo"];
export type Quota = components["schemas"]["Quota"];
export type Tier = components["schemas"]["Tier"];
export type ChatRequest = components["schemas"]["ChatRequest"];
export type APIKey = components["schemas"]["APIKey"];
export type APIKeyCreated = components["schemas"]["APIKeyCreated"];
export type Conversation = components["schemas"]["Conversation"];
export type ConversationMessage = components["schemas"]["ConversationMessage"];
export type Me = components["schemas"]["Me"];
export type ImagesInfo = components["schemas"]["ImagesInfo"];
export type GeneratedImage = components["schemas"]["GeneratedImage"];
export type VoiceInfo = components["schemas"]["VoiceInfo"];

// Same origin: the binary serves the app and the API together (and
// `npm run dev` proxies /api to a running server).
export const api = createClient<paths>({ baseUrl: "" });

const bearer: Middleware = {
  onRequest({ request }) {
    const token = session.value?.token;
    if (token && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${token}`);
    }
    return request;
  },
  onResponse({ request, response }) {
    // A token the server no longer takes (expired, revoked by a logout
    // elsewhere) ends the session here too: the app shows the sign-in form.
    // Deleting the account answers 401 to a wrong password as well, with
    // the token still good: that one keeps the session.
    if (response.status === 401 && session.value && !isPasswordCheck(request)) {
      session.clear();
    }
    return response;
  },
};
api.use(bearer);

// isPasswordCheck: the request whose 401 can mean a wrong password.
function isPasswordCheck(r: Request): boolean {
  return r.method === "DELETE" && new URL(r.url).pathname === "/api/v1/me";
}

/** Problem is an error to show: what happened, in words, and the request id. */
export interface Problem {
  message: string;
  code: string;
  requestId: string;
}

/** problemOf turns an API error body (or anything thrown) into a Problem. */
export function problemOf(err: unknown, response?: Response): Problem {
  const requestId = response?.headers.get("X-Request-ID") ?? "";
  if (err && typeof err === "object" && "error" in err && "code" in err) {
    const e = err as ApiError;
    return { message: e.error, code: e.code, requestId: e.request_id || requestId };
  }
  if (err instanceof DOMException && err.name === "AbortError") {
    return { message: "Stopped.", code: "aborted", requestId };
  }
  if (err instanceof TypeError) {
    return { message: "The server could not be reached: check your connection and try again.", code: "network", requestId };
  }
  return { message: String(err), code: "internal", requestId };
}
