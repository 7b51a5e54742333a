-- Conversations one person started in the last day are counted (a bound per person).
CREATE INDEX conversations_by_creator ON conversations (created_by, created_at);
