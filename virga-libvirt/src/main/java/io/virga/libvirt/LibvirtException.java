package io.virga.libvirt;

import io.virga.core.VirgaException;
import java.util.Optional;

/**
 * A libvirt call that failed: carries libvirt's error code ({@code virErrorNumber}) so callers can
 * tell "no such domain" from "operation invalid" without parsing messages.
 */
public class LibvirtException extends VirgaException {
  private static final long serialVersionUID = 1L;

  private final int code;
  private final String codeName;

  public LibvirtException(String message, int code, String codeName, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.codeName = codeName;
  }

  /** libvirt's virErrorNumber, -1 when unknown. */
  public int code() {
    return code;
  }

  public String codeName() {
    return codeName;
  }

  public boolean isNoDomain() {
    return "VIR_ERR_NO_DOMAIN".equals(codeName);
  }

  public boolean isOperationInvalid() {
    return "VIR_ERR_OPERATION_INVALID".equals(codeName);
  }

  /**
   * No such domain is a 404; an operation invalid in the domain's state (pause of a stopped guest)
   * a 409, as the control plane's state table would have answered.
   */
  @Override
  public int httpStatus() {
    return isNoDomain() ? 404 : isOperationInvalid() ? 409 : 500;
  }

  /** The libvirt exception at the root of {@code t}, if one is. */
  public static Optional<LibvirtException> find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof LibvirtException le) {
        return Optional.of(le);
      }
    }
    return Optional.empty();
  }
}
