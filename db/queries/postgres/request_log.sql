-- name: InsertRequestLogs :copyfrom
-- InsertRequestLogs writes a batch of request log rows with COPY.
INSERT INTO request_log (
    request_id, api, user_id, tier, provider, upstream_model, key_index, outcome, error_code,
    attempts, stream, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cache, kind, created_at
) VALUES (
    sqlc.narg(request_id), sqlc.arg(api), sqlc.arg(user_id), sqlc.arg(tier), sqlc.narg(provider),
    sqlc.narg(upstream_model), sqlc.narg(key_index), sqlc.arg(outcome), sqlc.narg(error_code),
    sqlc.arg(attempts), sqlc.arg(stream), sqlc.arg(latency_ms), sqlc.narg(ttft_ms),
    sqlc.arg(prompt_tokens), sqlc.arg(completion_tokens), sqlc.narg(cache), sqlc.arg(kind), sqlc.arg(created_at)
);

-- name: InsertRequestLog :exec
-- InsertRequestLog writes one row, the user only while the account exists:
-- the batch writer's fallback when a COPY fails on a row, so that a record
-- queued before its account was deleted lands anonymised instead of lost.
INSERT INTO request_log (
    request_id, api, user_id, tier, provider, upstream_model, key_index, outcome, error_code,
    attempts, stream, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cache, kind, created_at
) VALUES (
    sqlc.narg(request_id), sqlc.arg(api), (SELECT u.id FROM users u WHERE u.id = sqlc.narg(user_id)::uuid),
    sqlc.arg(tier), sqlc.narg(provider),
    sqlc.narg(upstream_model), sqlc.narg(key_index), sqlc.arg(outcome), sqlc.narg(error_code),
    sqlc.arg(attempts), sqlc.arg(stream), sqlc.arg(latency_ms), sqlc.narg(ttft_ms),
    sqlc.arg(prompt_tokens), sqlc.arg(completion_tokens), sqlc.narg(cache), sqlc.arg(kind), sqlc.arg(created_at)
);

-- name: ListRequestLogsForUser :many
-- ListRequestLogsForUser returns a user's newest rows first, at most row_limit
-- of them (uses request_log_user_created_at_idx).
SELECT * FROM request_log
WHERE user_id = sqlc.arg(user_id)
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(row_limit);
