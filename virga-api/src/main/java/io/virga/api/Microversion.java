package io.virga.api;

import io.javalin.http.Context;
import io.virga.core.InvalidInputException;
import io.virga.core.VirgaException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An API microversion ({@code 2.37}) and its negotiation. A compute handler calls {@code
 * COMPUTE.negotiate(ctx)} (or {@link Range#negotiate}) once; the result is kept on the request
 * ({@link #of(Context)}) and echoed in the response headers as Nova does.
 *
 * <p>Headers: {@code OpenStack-API-Version: compute 2.37} (wins) or {@code
 * X-OpenStack-Nova-API-Version: 2.37}; missing → the minimum (2.1; the SDK sends none); {@code
 * latest} → the maximum; malformed → 400; outside the range → 406.
 */
public record Microversion(int major, int minor) implements Comparable<Microversion> {
  private static final Pattern VERSION = Pattern.compile("^([1-9]\\d*)\\.([1-9]\\d*|0)$");
  static final String ATTR = "virga.microversion";

  public static Microversion of(int major, int minor) {
    return new Microversion(major, minor);
  }

  /** Parses {@code "2.37"}; 400 for anything else. */
  public static Microversion parse(String text) {
    Matcher m = VERSION.matcher(text.strip());
    if (!m.matches()) {
      throw new InvalidInputException(
          "API Version String "
              + text
              + " is of invalid format. Must be of format MajorNum.MinorNum.");
    }
    try {
      return new Microversion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    } catch (NumberFormatException e) {
      throw new InvalidInputException("API Version String " + text + " is out of range");
    }
  }

  /** The version negotiated for this request (the range's minimum if none was negotiated). */
  public static Microversion of(Context ctx) {
    Microversion v = ctx.attribute(ATTR);
    return v != null ? v : COMPUTE.min();
  }

  public boolean atLeast(int major, int minor) {
    return compareTo(of(major, minor)) >= 0;
  }

  public boolean atLeast(String version) {
    return compareTo(parse(version)) >= 0;
  }

  @Override
  public int compareTo(Microversion o) {
    return major != o.major ? Integer.compare(major, o.major) : Integer.compare(minor, o.minor);
  }

  @Override
  public String toString() {
    return major + "." + minor;
  }

  /** 406 Not Acceptable: a version outside what the server supports. */
  public static final class NotAcceptableException extends VirgaException {
    private static final long serialVersionUID = 1L;

    NotAcceptableException(String message) {
      super(message);
    }

    @Override
    public int httpStatus() {
      return 406;
    }
  }

  /** The supported versions of one service; compute's is {@link #COMPUTE}. */
  public record Range(String service, String legacyHeader, Microversion min, Microversion max) {

    /** What the client asked for (no side effects). */
    public Microversion requested(Optional<String> openstackHeader, Optional<String> legacy) {
      Optional<String> value =
          openstackHeader.flatMap(this::fromOpenStackHeader).or(() -> legacy.map(String::strip));
      if (value.isEmpty() || value.get().isEmpty()) {
        return min;
      }
      String v = value.get();
      if (v.equalsIgnoreCase("latest")) {
        return max;
      }
      Microversion asked = parse(v);
      if (asked.compareTo(min) < 0 || asked.compareTo(max) > 0) {
        throw new NotAcceptableException(
            "Version "
                + asked
                + " is not supported by the API. Minimum is "
                + min
                + " and maximum is "
                + max
                + ".");
      }
      return asked;
    }

    /** The {@code <service> <version>} entry of a (possibly comma-separated) header. */
    private Optional<String> fromOpenStackHeader(String header) {
      for (String part : header.split(",")) {
        String[] words = part.strip().split("\\s+");
        if (words.length == 2 && words[0].toLowerCase(Locale.ROOT).equals(service)) {
          return Optional.of(words[1]);
        }
      }
      return Optional.empty();
    }

    /** Negotiates from the request headers, records the result, and sets the response headers. */
    public Microversion negotiate(Context ctx) {
      Microversion v =
          requested(
              Optional.ofNullable(ctx.header("OpenStack-API-Version")),
              Optional.ofNullable(ctx.header(legacyHeader)));
      ctx.attribute(ATTR, v);
      ctx.header("OpenStack-API-Version", service + " " + v);
      ctx.header(legacyHeader, v.toString());
      ctx.header("Vary", "OpenStack-API-Version, " + legacyHeader);
      return v;
    }
  }

  /** Compute's range, 2.1 … 2.80 (the microversions the compute routes implement). */
  public static final Range COMPUTE =
      new Range("compute", "X-OpenStack-Nova-API-Version", of(2, 1), of(2, 80));
}
