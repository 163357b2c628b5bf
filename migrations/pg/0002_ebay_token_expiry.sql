-- When the access token cached in users.ebay_token expires (epoch ms), for
-- tokens minted from a linked account's refresh token (src/account.c); NULL
-- for a token set by hand, whose lifetime is unknown.
ALTER TABLE users ADD COLUMN ebay_token_expires_ms BIGINT;
