from curation.git_rules import MiningRules, cap_diff, conventional_type, message_skip_reason, path_skip_reason

HEADER = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n"
HUNK_A = "@@ -1,2 +1,2 @@\n-old a\n+new a\n context\n"
HUNK_B = "@@ -20,2 +20,2 @@\n-old b\n+new b\n context\n"


def test_whole_files_fit_untouched():
    assert cap_diff([HEADER + HUNK_A, HEADER + HUNK_B], 10_000) == (HEADER + HUNK_A + HEADER + HUNK_B, False)


def test_it_cuts_between_hunks():
    text, truncated = cap_diff([HEADER + HUNK_A + HUNK_B], len(HEADER + HUNK_A) + 5)
    assert (text, truncated) == (HEADER + HUNK_A, True)


def test_it_cuts_a_lone_oversized_first_hunk_between_lines():
    text, truncated = cap_diff([HEADER + HUNK_A], len(HEADER) + 20)
    assert truncated and text.endswith("\n") and len(text) <= len(HEADER) + 20
    assert text == HEADER + "@@ -1,2 +1,2 @@\n"


def test_it_drops_a_later_file_whose_first_hunk_does_not_fit():
    text, truncated = cap_diff([HEADER + HUNK_A, HEADER + HUNK_B], len(HEADER + HUNK_A) + len(HEADER) + 3)
    assert (text, truncated) == (HEADER + HUNK_A, True)


def test_conventional_types_are_recognised():
    assert conventional_type("feat(api)!: drop v0") == "feat"
    assert conventional_type("Revert: the last change") == "revert"
    assert conventional_type("feature: not a known type") == ""
    assert conventional_type("Add a thing") == ""


def test_meaningful_messages_are_kept():
    assert message_skip_reason("fix: handle a missing config file", MiningRules()) == ""


def test_paths_are_judged_by_name_and_folder():
    assert path_skip_reason("src/app.py") == ""
    assert path_skip_reason("Gemfile.lock") == "lock_file"
    assert path_skip_reason("src/vendor/x.py") == "vendored"
    assert path_skip_reason("web/dist/app.js") == "generated"
