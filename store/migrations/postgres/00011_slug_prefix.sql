-- +goose Up
-- New students get the first free slug of base, base-2, base-3…: the lookup
-- of base-N is a prefix match (LIKE 'base-%'), which a plain index serves
-- only under the C collation. text_pattern_ops serves it under any.
CREATE INDEX users_portfolio_slug_prefix ON users (portfolio_slug text_pattern_ops);

-- +goose Down
DROP INDEX users_portfolio_slug_prefix;
