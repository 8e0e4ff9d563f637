package io.virga.api;

import io.javalin.http.Context;
import io.virga.core.InvalidInputException;
import java.util.List;
import java.util.function.Predicate;

/** Nova's limit/marker paging of a list already in its final order. */
final class ComputePaging {
  /** Nova's {@code [api] max_limit}: the most items one page holds, and a page's default size. */
  static final int MAX_LIMIT = 1000;

  private ComputePaging() {}

  /**
   * The items after the one {@code isMarker} matches (400 if none does) and at most {@code limit}
   * of them, from the request's {@code marker} and {@code limit} query parameters.
   */
  static <T> List<T> page(
      Context ctx, List<T> items, java.util.function.Function<T, Predicate<String>> isMarker) {
    List<T> out = items;
    String marker = ctx.queryParam("marker");
    if (marker != null) {
      int i = -1;
      for (int k = 0; k < out.size(); k++) {
        if (isMarker.apply(out.get(k)).test(marker)) {
          i = k;
        }
      }
      if (i < 0) {
        throw new InvalidInputException("marker [" + marker + "] not found");
      }
      out = out.subList(i + 1, out.size());
    }
    String limit = ctx.queryParam("limit");
    if (limit != null) {
      out = out.subList(0, Math.min(limit(limit), out.size()));
    }
    return out;
  }

  /** A limit query parameter: a non-negative integer, capped at 1000 (Nova's max_limit). */
  static int limit(String s) {
    try {
      int v = Integer.parseInt(s);
      if (v < 0) {
        throw new NumberFormatException();
      }
      return Math.min(v, MAX_LIMIT);
    } catch (NumberFormatException e) {
      throw new InvalidInputException("limit must be a non-negative integer, not '" + s + "'");
    }
  }
}
