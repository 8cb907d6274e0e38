//! Cloudflare v4 client.
