package io.virga.api;

import at.favre.lib.crypto.bcrypt.BCrypt;
import at.favre.lib.crypto.bcrypt.LongPasswordStrategies;
import io.virga.core.Config;
import io.virga.core.InvalidInputException;

/**
 * Password hashing as Keystone does it with bcrypt: bcrypt reads at most 72 bytes of a password, so
 * longer passwords are truncated to their first 72 UTF-8 bytes for hashing and for checking,
 * explicitly, instead of the library refusing them (which made a long password at login a 500).
 * What a password may be is Keystone's {@code max_password_length} (default 4096 characters):
 * longer ones are refused with 400 when set; at login they are simply wrong (401).
 */
final class Passwords {
  static final BCrypt.Version VERSION = BCrypt.Version.VERSION_2A;

  /** Bytes of a password bcrypt takes into account. */
  static final int BCRYPT_MAX_BYTES = VERSION.allowedMaxPwLength;

  private final int cost;
  private final int maxLength;
  private final BCrypt.Hasher hasher;
  private final BCrypt.Verifyer verifyer;

  Passwords(Config config) {
    this.cost = config.integer("password_hash_cost", 10);
    if (cost < 4 || cost > 31) {
      throw new InvalidInputException("password_hash_cost must be between 4 and 31");
    }
    this.maxLength = config.integer("max_password_length", 4096);
    if (maxLength < 1) {
      throw new InvalidInputException("max_password_length must be at least 1");
    }
    this.hasher = BCrypt.with(VERSION, LongPasswordStrategies.truncate(VERSION));
    this.verifyer = BCrypt.verifyer(VERSION, LongPasswordStrategies.truncate(VERSION));
  }

  int maxLength() {
    return maxLength;
  }

  /** A new password as Keystone's schema takes it: 1..max_password_length characters. */
  void checkNew(String password) {
    if (password.isEmpty()) {
      throw new InvalidInputException("The password must not be empty.");
    }
    if (password.codePointCount(0, password.length()) > maxLength) {
      throw new InvalidInputException(
          "The password is longer than max_password_length (" + maxLength + " characters).");
    }
  }

  String hash(String password) {
    return hasher.hashToString(cost, password.toCharArray());
  }

  /** Whether the password matches; an over-long password is just a wrong one, never an error. */
  boolean verify(String password, String hash) {
    if (password.codePointCount(0, password.length()) > maxLength) {
      verifyer.verify("-".toCharArray(), hash.toCharArray()); // same cost as a real check
      return false;
    }
    return verifyer.verify(password.toCharArray(), hash.toCharArray()).verified;
  }
}
