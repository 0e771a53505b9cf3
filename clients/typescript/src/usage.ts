// A small, type-checked use of the client generated from api/openapi.yaml
// (schema.d.ts, by openapi-typescript): `make lint-spec` fails when the
// contract changes in a way that would break a TypeScript client.
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type ApiError = Schemas["Error"];
export type Quota = Schemas["Quota"];
export type Tier = Schemas["Tier"];
// The data of one event of a streamed OpenAI-compatible chat completion.
export type ChatCompletionChunk = Schemas["OpenAIChatCompletionChunk"];
export type OpenAIError = Schemas["OpenAIErrorResponse"];

export type GenzaiClient = Client<paths>;

// newClient talks to a gateway, e.g. "http://localhost:8000".
export function newClient(baseUrl: string): GenzaiClient {
  return createClient<paths>({ baseUrl });
}

// apiError turns the error body every non-2xx answer has into an Error.
function apiError(status: number, body: ApiError): Error {
  return new Error(`${status} ${body.code}: ${body.error} (request ${body.request_id})`);
}

function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

// login returns an access token.
export async function login(client: GenzaiClient, email: string, password: string): Promise<string> {
  const { data, error, response } = await client.POST("/api/v1/auth/login", {
    body: { email, password },
  });
  if (error) {
    throw apiError(response.status, error);
  }
  const tokenType: "bearer" = data.token_type;
  void tokenType;
  return data.access_token;
}

// quota reports the caller's daily quota.
export async function quota(client: GenzaiClient, token: string): Promise<Quota> {
  const { data, error, response } = await client.GET("/api/v1/quota", { headers: bearer(token) });
  if (error) {
    throw apiError(response.status, error);
  }
  return data;
}

// availableTiers lists the tiers that can answer now.
export async function availableTiers(client: GenzaiClient, token: string): Promise<Tier[]> {
  const { data, error, response } = await client.GET("/api/v1/models", { headers: bearer(token) });
  if (error) {
    throw apiError(response.status, error);
  }
  return data.models.filter((m) => m.available).map((m) => m.id);
}

// rate gives one of the caller's answers a thumbs up or down.
export async function rate(client: GenzaiClient, token: string, requestId: string, up: boolean, comment?: string): Promise<Schemas["Feedback"]> {
  const { data, error, response } = await client.POST("/api/v1/feedback", {
    headers: bearer(token),
    body: { request_id: requestId, rating: up ? "up" : "down", ...(comment === undefined ? {} : { comment }) },
  });
  if (error) {
    throw apiError(response.status, error);
  }
  return data;
}

// disableUser is what an admin does to an abusive account; it returns the
// account's requests today, or null when the account is an admin and the
// change waits for a second admin (202: a pending change).
export async function disableUser(client: GenzaiClient, token: string, id: string): Promise<number | null> {
  const { data, error, response } = await client.PATCH("/api/v1/admin/users/{id}", {
    headers: bearer(token),
    params: { path: { id } },
    body: { disabled: true },
  });
  if (error) {
    throw apiError(response.status, error);
  }
  if ("used_today" in data) {
    return data.used_today;
  }
  const pendingUntil: string = data.expires_at;
  void pendingUntil;
  return null;
}

// errorRate5xx is the share of last week's requests the gateway failed.
export async function errorRate5xx(client: GenzaiClient, token: string): Promise<number> {
  const { data, error, response } = await client.GET("/api/v1/admin/analytics", {
    headers: bearer(token),
    params: { query: { days: 7 } },
  });
  if (error) {
    throw apiError(response.status, error);
  }
  const p95: number | null = data.latency_ms.p95;
  void p95;
  return data.totals.error_rate_5xx;
}

// example logs in and prints what is left of today's quota and the tiers.
export async function example(baseUrl: string, email: string, password: string): Promise<string> {
  const client = newClient(baseUrl);
  const token = await login(client, email, password);
  const q = await quota(client, token);
  const tiers = await availableTiers(client, token);
  const resets: string = q.resets_at;
  return `${q.remaining}/${q.limit} requests left until ${resets}; tiers: ${tiers.join(", ")}`;
}

// Compile-time checks that the generated types are precise, not `any`.
export function contractChecks(client: GenzaiClient): void {
  // @ts-expect-error login needs an email.
  void client.POST("/api/v1/auth/login", { body: { password: "secret" } });
  // @ts-expect-error the quota needs no body.
  void client.GET("/api/v1/quota", { body: { email: "a@example.com" } });
  // @ts-expect-error there is no such route.
  void client.GET("/api/v1/quotas");
  // @ts-expect-error tiers are fast, balanced and smart.
  const tier: Tier = "turbo";
  void tier;
  // @ts-expect-error used is a number.
  const used: string = ({} as Quota).used;
  void used;
  // @ts-expect-error ratings are up or down.
  void client.POST("/api/v1/feedback", { body: { request_id: "r", rating: "meh" } });
  // daily_quota may be null: back to the default.
  void client.PATCH("/api/v1/admin/users/{id}", { params: { path: { id: "x" } }, body: { daily_quota: null } });
  // A 429 of the per-IP limits says when to retry.
  const retryAfter: number = ({} as Schemas["RateLimitedError"]).retry_after;
  void retryAfter;
  // OpenAI-compatible: a tool call's arguments are JSON text, errors have OpenAI's shape.
  const args: string | undefined = ({} as ChatCompletionChunk).choices[0]?.delta.tool_calls?.[0]?.function?.arguments;
  void args;
  const errorType: string = ({} as OpenAIError).error.type;
  void errorType;
  // @ts-expect-error the model is a tier, not an OpenAI model name.
  void client.POST("/v1/chat/completions", { body: { model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] } });
}
