package io.virga.libvirt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS for the disk transfer channel: one PKCS#12 file per host ({@code disk_transfer_tls_keystore})
 * holding the host's key and certificate and the certificates it trusts (the other hosts', or their
 * CA). Both ends authenticate (the receiver requires a client certificate); the per-migration token
 * is checked inside the tunnel as without TLS.
 */
final class DiskTransferTls {
  private DiskTransferTls() {}

  static Optional<SSLContext> from(MigrationOptions o) {
    return o.transferKeystore().map(p -> context(p, o.transferKeystorePassword()));
  }

  static SSLContext context(Path keystore, String password) {
    char[] pw = password.toCharArray();
    try (InputStream in = Files.newInputStream(keystore)) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, pw);
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, pw);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLSv1.3");
      ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new io.virga.core.InvalidInputException(
          "disk_transfer_tls_keystore " + keystore + " is not usable: " + e.getMessage());
    }
  }
}
