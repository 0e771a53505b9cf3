-- name: SaveFeedback :one
-- SaveFeedback stores a user's rating of one of their answered requests (a
-- request_log row of theirs with that request id and an outcome in
-- answered; uses request_log_user_request_id_idx), replacing an earlier
-- rating of the same request: created_at stays, updated_at moves. No row
-- comes back when there is no such request.
INSERT INTO feedback (user_id, request_id, rating, comment, created_at, updated_at)
SELECT sqlc.arg(user_id), sqlc.arg(request_id), sqlc.arg(rating), sqlc.narg(comment),
       sqlc.arg(created_at), sqlc.arg(updated_at)
WHERE EXISTS (
    SELECT 1 FROM request_log r
    WHERE r.user_id = sqlc.arg(user_id) AND r.request_id = sqlc.arg(request_id)
      AND r.outcome = ANY (sqlc.arg(answered)::text[])
)
ON CONFLICT (user_id, request_id) DO UPDATE
SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, updated_at = EXCLUDED.updated_at
RETURNING *;

-- name: UserFeedback :many
-- UserFeedback returns every rating a user gave, oldest first (the
-- primary key's user_id prefix finds them), for the user's export.
SELECT * FROM feedback
WHERE user_id = sqlc.arg(user_id)
ORDER BY created_at, request_id;
