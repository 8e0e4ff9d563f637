package io.virga.image;

import io.virga.core.ConflictException;
import io.virga.core.ForbiddenException;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.db.Database;
import io.virga.db.ImageMemberRepository;
import io.virga.db.ImageMemberRepository.Member;
import io.virga.db.ImageRecord;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sharing an image with other projects as Glance does: only a {@code shared} image has members; its
 * owner (or an admin) adds and removes them; a member sees the image at once and lists it once it
 * has accepted; only the member sets its own status (pending, accepted, rejected).
 */
public final class ImageMembers {
  private static final Logger LOG = LoggerFactory.getLogger(ImageMembers.class);
  private static final Set<String> STATUSES = Set.of("pending", "accepted", "rejected");

  /** Glance's image_member_quota default. */
  static final int MEMBER_QUOTA = 128;

  private final ImageService images;
  private final ImageMemberRepository repo;

  ImageMembers(ImageService images, ImageMemberRepository repo) {
    this.images = images;
    this.repo = repo;
  }

  private static boolean owns(ImageService.Caller c, ImageRecord r) {
    return c.admin() || r.owner().map(c.projectId()::equals).orElse(false);
  }

  public Member add(ImageService.Caller caller, String imageId, String memberId) {
    ImageRecord r = images.show(caller, imageId);
    if (!owns(caller, r)) {
      throw new ForbiddenException("You are not permitted to share image " + imageId + ".");
    }
    if (!r.visibility().equals("shared")) {
      throw new ForbiddenException("Only shared images have members.");
    }
    if (memberId.isBlank() || memberId.length() > 255) {
      throw new InvalidInputException("member must be a project id of 1 to 255 characters");
    }
    if (repo.list(imageId).size() >= MEMBER_QUOTA) {
      throw new io.virga.core.QuotaExceededException(
          "The image has the maximum of " + MEMBER_QUOTA + " members.");
    }
    if (!repo.add(imageId, memberId, Database.now())) {
      throw new ConflictException(
          "Member " + memberId + " already exists for image " + imageId + ".");
    }
    LOG.info("image {} shared with project {}", imageId, memberId);
    return repo.find(imageId, memberId).orElseThrow();
  }

  /** The owner sees every member; a member only its own membership. */
  public List<Member> list(ImageService.Caller caller, String imageId) {
    ImageRecord r = images.show(caller, imageId);
    if (!r.visibility().equals("shared")) {
      throw new ForbiddenException("Only shared images have members.");
    }
    List<Member> all = repo.list(imageId);
    return owns(caller, r)
        ? all
        : all.stream().filter(m -> m.memberId().equals(caller.projectId())).toList();
  }

  public Member show(ImageService.Caller caller, String imageId, String memberId) {
    ImageRecord r = images.show(caller, imageId);
    if (!owns(caller, r) && !caller.projectId().equals(memberId)) {
      throw notFound(imageId, memberId);
    }
    return repo.find(imageId, memberId).orElseThrow(() -> notFound(imageId, memberId));
  }

  public Member setStatus(
      ImageService.Caller caller, String imageId, String memberId, String status) {
    images.show(caller, imageId);
    if (!STATUSES.contains(status)) {
      throw new InvalidInputException(
          "Invalid status '" + status + "': pending, accepted or rejected");
    }
    Member m = repo.find(imageId, memberId).orElseThrow(() -> notFound(imageId, memberId));
    if (!caller.projectId().equals(memberId)) {
      throw new ForbiddenException("Only the member can change its own status.");
    }
    repo.setStatus(imageId, m.memberId(), status, Database.now());
    LOG.info("project {} set its membership of image {} to {}", memberId, imageId, status);
    return repo.find(imageId, memberId).orElseThrow();
  }

  public void remove(ImageService.Caller caller, String imageId, String memberId) {
    ImageRecord r = images.show(caller, imageId);
    if (!owns(caller, r)) {
      throw new ForbiddenException("You are not permitted to unshare image " + imageId + ".");
    }
    if (!repo.delete(imageId, memberId)) {
      throw notFound(imageId, memberId);
    }
    LOG.info("image {} no longer shared with project {}", imageId, memberId);
  }

  private static NotFoundException notFound(String imageId, String memberId) {
    return new NotFoundException("Member " + memberId + " not found for image " + imageId + ".");
  }
}
