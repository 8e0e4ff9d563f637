package io.virga.db;

import java.time.Instant;

/** A user's SSH key pair (the private key is never stored). */
public record KeyPairRecord(
    long id,
    String userId,
    String name,
    String type,
    String fingerprint,
    String publicKey,
    Instant createdAt) {}
