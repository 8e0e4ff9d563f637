package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.w3c.dom.Attr;
import org.w3c.dom.Node;
import org.xmlunit.builder.DiffBuilder;
import org.xmlunit.diff.ComparisonResult;
import org.xmlunit.diff.ComparisonType;
import org.xmlunit.diff.DefaultNodeMatcher;
import org.xmlunit.diff.Diff;
import org.xmlunit.diff.ElementSelectors;

/**
 * "libvirt.xml equals what libvirt reports for every field we set": an XMLUnit diff of our XML
 * (control) against libvirt's (test) in which only what libvirt adds is ignored — extra elements,
 * extra attributes, defaults it expands (machine {@code pc} → {@code pc-i440fx-*}).
 */
final class DomainXmlAssert {
  private DomainXmlAssert() {}

  static void assertLibvirtKeepsEverythingWeSet(String ours, String libvirts) {
    Diff diff =
        DiffBuilder.compare(ours)
            .withTest(libvirts)
            .ignoreWhitespace()
            .ignoreComments()
            .checkForSimilar()
            .withNodeMatcher(
                new DefaultNodeMatcher(
                    ElementSelectors.conditionalBuilder()
                        .whenElementIsNamed("disk")
                        .thenUse(
                            ElementSelectors.byXPath(
                                "./target", ElementSelectors.byNameAndAttributes("dev")))
                        .whenElementIsNamed("entry")
                        .thenUse(ElementSelectors.byNameAndAttributes("name"))
                        .whenElementIsNamed("timer")
                        .thenUse(ElementSelectors.byNameAndAttributes("name"))
                        .whenElementIsNamed("controller")
                        .thenUse(ElementSelectors.byNameAndAttributes("type", "index"))
                        .elseUse(ElementSelectors.byName)
                        .build()))
            .withDifferenceEvaluator(
                (comparison, outcome) -> {
                  if (outcome == ComparisonResult.EQUAL) {
                    return outcome;
                  }
                  ComparisonType t = comparison.getType();
                  Node control = comparison.getControlDetails().getTarget();
                  switch (t) {
                    case CHILD_NODELIST_LENGTH,
                    CHILD_NODELIST_SEQUENCE,
                    ELEMENT_NUM_ATTRIBUTES,
                    NAMESPACE_PREFIX,
                    XML_STANDALONE,
                    XML_VERSION,
                    XML_ENCODING,
                    HAS_DOCTYPE_DECLARATION:
                      return ComparisonResult.EQUAL;
                    case CHILD_LOOKUP, ATTR_NAME_LOOKUP:
                      // present only in libvirt's XML: something libvirt added
                      return comparison.getControlDetails().getValue() == null || control == null
                          ? ComparisonResult.EQUAL
                          : ComparisonResult.DIFFERENT;
                    case ATTR_VALUE:
                      if (control instanceof Attr a
                          && a.getName().equals("machine")
                          && String.valueOf(comparison.getTestDetails().getValue())
                              .startsWith("pc-i440fx-")
                          && a.getValue().equals("pc")) {
                        return ComparisonResult.EQUAL;
                      }
                      return ComparisonResult.DIFFERENT;
                    default:
                      return ComparisonResult.DIFFERENT;
                  }
                })
            .build();
    List<String> differences = new ArrayList<>();
    diff.getDifferences().forEach(d -> differences.add(d.toString()));
    assertThat(differences).as("fields libvirt did not keep as we wrote them").isEmpty();
  }
}
