-- name: CreateConversation :one
-- CreateConversation adds a conversation while the owner has fewer than
-- max_conversations; no row comes back at the limit (or when the owner
-- does not exist). One statement under SQLite's single writer: the count
-- and the insert cannot interleave with another creation.
INSERT INTO conversations (id, user_id, title, created_at, updated_at)
SELECT sqlc.arg(id), u.id, sqlc.arg(title), sqlc.arg(created_at), sqlc.arg(created_at)
FROM users u
WHERE u.id = sqlc.arg(user_id)
  AND (SELECT count(*) FROM conversations c WHERE c.user_id = sqlc.arg(user_id)) < CAST(sqlc.arg(max_conversations) AS INTEGER)
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
-- recently active first, after the cursor when has_cursor (the cursor's
-- values are ignored otherwise).
SELECT id, user_id, title, created_at, updated_at
FROM conversations
WHERE user_id = sqlc.arg(user_id)
  AND (NOT CAST(sqlc.arg(has_cursor) AS BOOLEAN)
       OR updated_at < sqlc.arg(after_updated_at)
       OR (updated_at = sqlc.arg(after_updated_at) AND id < sqlc.arg(after_id)))
ORDER BY updated_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: SearchConversations :many
-- SearchConversations is ListConversations keeping the conversations whose
-- title or one of whose messages matches the FTS5 query match (the adapter
-- builds it from the query's words, each quoted, so that all must appear);
-- the message search is held to the user's conversations.
SELECT c.id, c.user_id, c.title, c.created_at, c.updated_at
FROM conversations c
WHERE c.user_id = sqlc.arg(user_id)
  AND (NOT CAST(sqlc.arg(has_cursor) AS BOOLEAN)
       OR c.updated_at < sqlc.arg(after_updated_at)
       OR (c.updated_at = sqlc.arg(after_updated_at) AND c.id < sqlc.arg(after_id)))
  AND (c.rid IN (SELECT rowid FROM conversations_fts WHERE conversations_fts.title MATCH sqlc.arg(match))
       OR c.id IN (SELECT m.conversation_id FROM messages m
                   WHERE m.conversation_id IN (SELECT uc.id FROM conversations uc WHERE uc.user_id = sqlc.arg(user_id))
                     AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts.content MATCH sqlc.arg(match))))
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
-- go with it (ON DELETE CASCADE, which fires their search triggers).
DELETE FROM conversations WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id);

-- name: TurnHeld :one
-- TurnHeld counts the user's conversation when lease is its turn lease: the
-- first statement of AppendTurn (the IMMEDIATE transaction keeps any other
-- writer out until the turn's messages are in).
SELECT count(*) FROM conversations
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id) AND turn_lease = sqlc.arg(lease);

-- name: DeleteLastTurn :execrows
-- DeleteLastTurn deletes a conversation's last prompt and every message
-- after it (its answer): a regenerated turn takes their place, in the
-- transaction that stores it.
DELETE FROM messages
WHERE messages.conversation_id = sqlc.arg(conversation_id)
  AND messages.id >= (SELECT max(l.id) FROM messages l WHERE l.conversation_id = sqlc.arg(conversation_id) AND l.role = 'user');

-- name: TouchConversation :one
-- TouchConversation moves one of the user's conversations' activity time
-- forward and names it when untitled; the first statement of an append.
UPDATE conversations
SET updated_at = max(updated_at, CAST(sqlc.arg(created_at) AS INTEGER)),
    title = CASE WHEN title = '' THEN sqlc.arg(title_if_untitled) ELSE title END
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id)
RETURNING id;

-- name: InsertMessage :one
-- InsertMessage stores a message; the second statement of an append.
INSERT INTO messages (conversation_id, role, content, status, tier, provider, upstream_model, request_id,
                      prompt_tokens, completion_tokens, sources, created_at)
VALUES (sqlc.arg(conversation_id), sqlc.arg(role), sqlc.arg(content), sqlc.arg(status), sqlc.narg(tier),
        sqlc.narg(provider), sqlc.narg(upstream_model), sqlc.narg(request_id), sqlc.arg(prompt_tokens),
        sqlc.arg(completion_tokens), sqlc.arg(sources), sqlc.arg(created_at))
RETURNING id, conversation_id, role, content, status, tier, provider, upstream_model, request_id,
          prompt_tokens, completion_tokens, sources, created_at;

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
