"""The window's ledger of worker answers (gui/serials.py): an older answer never replaces a newer one."""
from gui.serials import Serials


def test_a_late_render_never_replaces_a_newer_one():
    serials = Serials()
    serials.new_photo()
    first, second = serials.new_render(), serials.new_render()
    assert serials.show(second)
    assert not serials.show(first)              # arrived late: dropped
    assert serials.shown == second


def test_answers_for_another_photo_are_dropped():
    serials = Serials()
    serials.new_photo()
    old_render = serials.new_render()
    serials.new_photo()
    assert not serials.of_this_photo(old_render)
    assert not serials.show(old_render)
    assert not serials.current(old_render)


def test_the_result_on_screen_is_newest_only_until_settings_move():
    serials = Serials()
    serials.new_photo()
    render = serials.new_render()
    assert serials.show(render)
    serials.show_result(render)
    assert serials.result_is_newest
    serials.new_render()                        # a slider moved
    assert not serials.result_is_newest


def test_full_size_shows_only_what_was_asked_after_the_newest_render():
    serials = Serials()
    serials.new_photo()
    serials.new_render()
    full = serials.next()
    assert serials.after_newest_render(full)
    serials.new_render()
    assert not serials.after_newest_render(full)


def test_failures_count_only_when_current():
    serials = Serials()
    serials.new_photo()
    stale, fresh = serials.new_render(), serials.new_render()
    serials.show(fresh)
    assert not serials.current(stale) and serials.current(fresh)
