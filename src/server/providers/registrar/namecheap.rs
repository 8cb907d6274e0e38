//! Namecheap XML API client.
