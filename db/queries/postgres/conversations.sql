-- name: LockUserForConversations :one
-- LockUserForConversations locks the owner's row for the rest of the
-- transaction, so that concurrent creations for one user count in turn
-- (NO KEY: rows referencing the user, such as request log rows, are not
-- blocked by it).
SELECT id FROM users WHERE id = sqlc.arg(user_id) FOR NO KEY UPDATE;

-- name: CreateConversation :one
-- CreateConversation adds a conversation while the owner has fewer than
-- max_conversations; no row comes back at the limit. Run after
-- LockUserForConversations in one transaction.
INSERT INTO conversations (user_id, title, created_at, updated_at)
SELECT sqlc.arg(user_id), sqlc.arg(title), sqlc.arg(created_at), sqlc.arg(created_at)
WHERE (SELECT count(*) FROM conversations c WHERE c.user_id = sqlc.arg(user_id)) < sqlc.arg(max_conversations)::int
RETURNING id, user_id, title, created_at, updated_at;

-- name: CountConversations :one
-- CountConversations counts a user's conversations.
SELECT count(*) FROM conversations WHERE user_id = sqlc.arg(user_id);

-- name: GetConversation :one
-- GetConversation returns one of the user's conversations.
SELECT id, user_id, title, created_at, updated_at
FROM conversations
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id);

-- name: ListConversations :many
-- ListConversations returns a page of the user's conversations, most
-- recently active first, after the cursor when has_cursor, keeping those
-- whose title or one of whose messages holds every word of query (all when
-- query is empty). The adapter passes the query's words (domain.SearchWords)
-- separated by spaces, so that plainto_tsquery ANDs them. The message
-- search is held to the user's conversations, so that it never gathers
-- every user's matches first.
SELECT c.id, c.user_id, c.title, c.created_at, c.updated_at
FROM conversations c
WHERE c.user_id = sqlc.arg(user_id)
  AND (NOT sqlc.arg(has_cursor)::boolean
       OR (c.updated_at, c.id) < (sqlc.arg(after_updated_at)::timestamptz, sqlc.arg(after_id)::uuid))
  AND (sqlc.arg(query)::text = ''
       OR to_tsvector('simple', regexp_replace(c.title, '[!-/:-@[-`{-~]+', ' ', 'g')) @@ plainto_tsquery('simple', sqlc.arg(query)::text)
       OR c.id IN (SELECT m.conversation_id FROM messages m
                   JOIN conversations mc ON mc.id = m.conversation_id
                   WHERE mc.user_id = sqlc.arg(user_id)
                     AND m.search @@ plainto_tsquery('simple', sqlc.arg(query)::text)))
ORDER BY c.updated_at DESC, c.id DESC
LIMIT sqlc.arg(row_limit);

-- name: ListMessages :many
-- ListMessages returns a page of a conversation's messages, oldest first,
-- after after_id.
SELECT id, conversation_id, role, content, status, tier, provider, upstream_model, request_id,
       prompt_tokens, completion_tokens, sources, created_at
FROM messages
WHERE conversation_id = sqlc.arg(conversation_id) AND id > sqlc.arg(after_id)
ORDER BY id
LIMIT sqlc.arg(row_limit);

-- name: ListMessagesBefore :many
-- ListMessagesBefore returns a page of a conversation's messages before
-- before_id, newest first: a thread read from its end.
SELECT id, conversation_id, role, content, status, tier, provider, upstream_model, request_id,
       prompt_tokens, completion_tokens, sources, created_at
FROM messages
WHERE conversation_id = sqlc.arg(conversation_id) AND id < sqlc.arg(before_id)
ORDER BY id DESC
LIMIT sqlc.arg(row_limit);

-- name: LatestMessages :many
-- LatestMessages returns a conversation's last messages, newest first.
SELECT id, conversation_id, role, content, status, tier, provider, upstream_model, request_id,
       prompt_tokens, completion_tokens, sources, created_at
FROM messages
WHERE conversation_id = sqlc.arg(conversation_id)
ORDER BY id DESC
LIMIT sqlc.arg(row_limit);

-- name: RenameConversation :one
-- RenameConversation sets the title of one of the user's conversations.
UPDATE conversations SET title = sqlc.arg(title)
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id)
RETURNING id, user_id, title, created_at, updated_at;

-- name: DeleteConversation :execrows
-- DeleteConversation deletes one of the user's conversations; its messages
-- go with it (ON DELETE CASCADE).
DELETE FROM conversations WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id);

-- name: AppendMessage :one
-- AppendMessage stores a message in one of the user's conversations, moving
-- its activity time forward and naming it when untitled, in one statement:
-- the update locks the conversation's row, so appends to one conversation
-- take their ids in turn. No row comes back when the user has no such
-- conversation.
WITH conv AS (
    UPDATE conversations c
    SET updated_at = GREATEST(c.updated_at, sqlc.arg(created_at)::timestamptz),
        title = CASE WHEN c.title = '' THEN sqlc.arg(title_if_untitled)::text ELSE c.title END
    WHERE c.id = sqlc.arg(conversation_id) AND c.user_id = sqlc.arg(user_id)
    RETURNING c.id
)
INSERT INTO messages (conversation_id, role, content, status, tier, provider, upstream_model, request_id,
                      prompt_tokens, completion_tokens, sources, created_at)
SELECT conv.id, sqlc.arg(role), sqlc.arg(content), sqlc.arg(status), sqlc.narg(tier), sqlc.narg(provider),
       sqlc.narg(upstream_model), sqlc.narg(request_id), sqlc.arg(prompt_tokens), sqlc.arg(completion_tokens),
       sqlc.arg(sources), sqlc.arg(created_at)
FROM conv
RETURNING messages.id, conversation_id, role, content, status, tier, provider, upstream_model, request_id,
          prompt_tokens, completion_tokens, sources, created_at;

-- name: HoldTurn :one
-- HoldTurn locks one of the user's conversations for the rest of the
-- transaction while lease is its turn lease (no row otherwise): the first
-- statement of AppendTurn, so that a turn stores nothing once it lost the
-- conversation and no other turn starts until its messages are in.
SELECT id FROM conversations
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND turn_lease = sqlc.arg(lease)::text
FOR NO KEY UPDATE;

-- name: DeleteLastTurn :execrows
-- DeleteLastTurn deletes a conversation's last prompt and every message
-- after it (its answer): a regenerated turn takes their place, in the
-- transaction that stores it.
DELETE FROM messages
WHERE messages.conversation_id = sqlc.arg(conversation_id)
  AND messages.id >= (SELECT max(l.id) FROM messages l WHERE l.conversation_id = sqlc.arg(conversation_id) AND l.role = 'user');

-- name: BeginTurn :execrows
-- BeginTurn takes the conversation's turn lease unless another one is held
-- and unexpired at now; no row changes then (or when the user has no such
-- conversation).
UPDATE conversations SET turn_lease = sqlc.arg(lease), turn_expires_at = sqlc.arg(until)
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id)
  AND (turn_expires_at IS NULL OR turn_expires_at <= sqlc.arg(now));

-- name: RenewTurn :execrows
-- RenewTurn moves a held lease's expiry.
UPDATE conversations SET turn_expires_at = sqlc.arg(until)
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND turn_lease = sqlc.arg(lease);

-- name: EndTurn :exec
-- EndTurn releases a held lease.
UPDATE conversations SET turn_lease = NULL, turn_expires_at = NULL
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND turn_lease = sqlc.arg(lease);

-- name: TryPurgeLock :one
-- TryPurgeLock takes the purge's advisory lock for the session, false when
-- another session holds it; PurgeUnlock gives it back.
SELECT pg_try_advisory_lock(hashtext('genzai-conversation-purge'));

-- name: PurgeUnlock :one
SELECT pg_advisory_unlock(hashtext('genzai-conversation-purge'));

-- name: PurgeIdleConversations :execrows
-- PurgeIdleConversations deletes up to batch of the conversations idle
-- since before, with their messages, skipping those a turn holds at now
-- (uses conversations_updated_at_idx).
DELETE FROM conversations
WHERE id IN (SELECT c.id FROM conversations c
             WHERE c.updated_at < sqlc.arg(before)
               AND (c.turn_expires_at IS NULL OR c.turn_expires_at <= sqlc.arg(now))
             ORDER BY c.updated_at
             LIMIT sqlc.arg(batch));
