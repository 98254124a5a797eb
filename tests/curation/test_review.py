import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from curation.models import Conversation, Lesson, ReviewStatus
from curation.services import review
from curation.services.ingest import ingest_conversations, ingest_lessons
from curation.services.ingest_schema import content_key
from tests.curation.factories import make_conversation, make_lesson

pytestmark = pytest.mark.django_db


def test_policy_auto_approves_git_and_queues_lessons_and_conversations_by_default():
    assert review.initial_review_status("git") == ReviewStatus.APPROVED
    assert review.initial_review_status("lesson") == ReviewStatus.PENDING
    assert review.initial_review_status("conversation") == ReviewStatus.PENDING


def test_policy_setting_decides_the_status_of_ingested_records(settings):
    settings.AUTO_APPROVE_SOURCES = ["lesson"]
    ingest_lessons({"situation": "s", "action": "a"})
    ingest_conversations({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    assert Lesson.objects.get().review_status == ReviewStatus.APPROVED
    assert Conversation.objects.get().review_status == ReviewStatus.PENDING
    assert review.initial_review_status("git") == ReviewStatus.PENDING


def test_reviewer_approves_and_the_decision_records_who_and_when(carol):
    lesson = make_lesson(status=ReviewStatus.PENDING)
    review.approve(lesson, user=carol, note="clear")
    lesson.refresh_from_db()
    assert lesson.review_status == ReviewStatus.APPROVED
    assert lesson.reviewed_by == carol and lesson.reviewed_at is not None and lesson.review_note == "clear"


def test_reviewer_can_reject_an_approved_conversation(carol):
    conversation = make_conversation()
    review.reject(conversation, user=carol)
    assert Conversation.objects.get().review_status == ReviewStatus.REJECTED


@pytest.mark.parametrize("who", ["bob", "dave", "viewer"])
def test_only_reviewers_may_decide(who, request):
    lesson = make_lesson(status=ReviewStatus.PENDING)
    with pytest.raises(PermissionDenied):
        review.approve(lesson, user=request.getfixturevalue(who))
    assert Lesson.objects.get().review_status == ReviewStatus.PENDING


def test_a_stale_decision_conflicts_instead_of_overwriting(carol, alice):
    lesson = make_lesson(status=ReviewStatus.PENDING)
    stale = Lesson.objects.get(pk=lesson.pk)
    review.reject(lesson, user=alice)
    with pytest.raises(review.ReviewConflict):
        review.approve(stale, user=carol)
    assert Lesson.objects.get().reviewed_by == alice


def test_edit_changes_text_and_content_key_so_reimporting_the_old_text_is_new(carol):
    ingest_lessons({"situation": "old situation", "action": "old action"})
    lesson = Lesson.objects.get()
    old_key = lesson.content_key
    review.edit_lesson(lesson, user=carol, situation="new situation", action="new action", approve_after=True)
    lesson.refresh_from_db()
    assert (lesson.situation, lesson.review_status, lesson.reviewed_by) == ("new situation", "approved", carol)
    assert lesson.content_key != old_key
    assert ingest_lessons({"situation": "new situation", "action": "new action"}).duplicates == 1


def test_edit_refuses_empty_action_and_text_identical_to_another_lesson(carol):
    first = make_lesson("same situation", "same action", result="")
    first.content_key = content_key("lesson", "same situation", "same action", "", "")
    first.save()
    other = make_lesson(status=ReviewStatus.PENDING)
    with pytest.raises(ValidationError) as caught:
        review.edit_lesson(other, user=carol, situation="x", action="  ")
    assert "action" in caught.value.message_dict
    with pytest.raises(ValidationError, match="identical"):
        review.edit_lesson(other, user=carol, situation="same situation", action="same action")


def test_edit_conversation_validates_messages(carol):
    conversation = make_conversation(status=ReviewStatus.PENDING)
    with pytest.raises(ValidationError):
        review.edit_conversation(conversation, user=carol, messages=[{"role": "bot", "content": "x"}])
    review.edit_conversation(conversation, user=carol, messages=[
        {"role": "user", "content": "Fix the test."}, {"role": "assistant", "content": " Fixed. "}])
    assert Conversation.objects.get().messages[1] == {"role": "assistant", "content": "Fixed."}


def test_bulk_review_changes_only_records_not_already_in_that_state(carol, bob):
    pending = [make_lesson(status=ReviewStatus.PENDING) for _ in range(3)]
    already = make_lesson(status=ReviewStatus.APPROVED)
    ids = [lesson.pk for lesson in pending] + [already.pk]
    assert review.bulk_review(Lesson, ids, ReviewStatus.APPROVED, user=carol) == 3
    assert Lesson.objects.approved().count() == 4
    with pytest.raises(PermissionDenied):
        review.bulk_review(Lesson, ids, ReviewStatus.REJECTED, user=bob)


def test_admin_bulk_actions_approve_and_reject_through_the_service(client, alice):
    lessons = [make_lesson(status=ReviewStatus.PENDING) for _ in range(2)]
    client.force_login(alice)
    ids = [str(lesson.pk) for lesson in lessons]
    response = client.post("/admin/curation/lesson/", {"action": "approve", "_selected_action": ids})
    assert response.status_code == 302
    assert set(Lesson.objects.values_list("review_status", "reviewed_by")) == {(ReviewStatus.APPROVED, alice.pk)}
    conversation = make_conversation(status=ReviewStatus.PENDING)
    client.post("/admin/curation/conversation/", {"action": "reject", "_selected_action": [conversation.pk]})
    assert Conversation.objects.get().review_status == ReviewStatus.REJECTED
    assert client.get("/admin/curation/lesson/?q=Situation&review_status__exact=approved").status_code == 200
