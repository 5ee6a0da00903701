"""What people send on Telegram besides text: albums, photos sent as files without a type,
stickers and their siblings. The real python-telegram-bot Application against the fake Bot API
(tests/fakes/telegram.py), over the real service, models and store."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from moosic_core.types import UserRef
from tests.fakes.telegram import BOT_ID, FakeTelegram, group_chat, private_chat, user
from tests.test_telegram import ANA, GROUP

STICKER = {"sticker": {"file_id": "stk", "file_unique_id": "ustk", "type": "regular",
                       "width": 512, "height": 512, "is_animated": False, "is_video": False}}
SIBLINGS = {
    "voice messages": {"voice": {"file_id": "v", "file_unique_id": "uv", "duration": 3}},
    "video messages": {"video_note": {"file_id": "vn", "file_unique_id": "uvn", "length": 240,
                                      "duration": 2}},
    "locations": {"location": {"latitude": 52.5, "longitude": 13.4}},
    "contacts": {"contact": {"phone_number": "+100", "first_name": "Bo"}},
    "GIFs": {"animation": {"file_id": "g", "file_unique_id": "ug", "width": 1, "height": 1,
                           "duration": 1},
             "document": {"file_id": "g", "file_unique_id": "ug", "file_name": "a.mp4",
                          "mime_type": "video/mp4"}},
    "audio files": {"audio": {"file_id": "au", "file_unique_id": "uau", "duration": 100}},
    "videos": {"video": {"file_id": "vi", "file_unique_id": "uvi", "width": 1, "height": 1,
                         "duration": 1}},
    "dice": {"dice": {"emoji": "🎲", "value": 4}},
}


def png(selfie_jpeg: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(selfie_jpeg)).save(out, format="PNG")
    return out.getvalue()


async def settle(fake: FakeTelegram, seconds: float = 2.5) -> None:
    """Let the album window pass, so that a second answer would have been sent."""
    await asyncio.sleep(seconds)


# --- albums ----------------------------------------------------------------------------------
async def test_an_album_of_three_selfies_gets_one_answer(tg, fake, selfie, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    for _ in range(3):
        fake.push_message(private_chat(ANA), user(ANA), photo=selfie, media_group_id="alb1")
    [answer] = await fake.replies(ANA)
    await settle(fake)
    assert len(fake.sent("sendMessage", ANA)) == 1
    assert answer.text.startswith("Your album has 3 photos: I read the first photo.")
    assert "You look" in answer.text
    assert answer.text.count("https://open.spotify.com/track/") == 10


async def test_an_album_split_over_two_batches_and_a_faceless_first_photo(
        tg, fake, selfie, no_face, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    calls = fake.get_updates_calls
    fake.push_message(private_chat(ANA), user(ANA), photo=no_face, media_group_id="alb2")
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie, media_group_id="alb2")
    while fake.get_updates_calls <= calls:  # the poll after the first batch has started
        await asyncio.sleep(0.01)
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie, media_group_id="alb2")
    [answer] = await fake.replies(ANA)
    await settle(fake)
    assert [c.text[:50] for c in fake.sent("sendMessage", ANA)] == [answer.text[:50]]
    assert "I read photo 2, the first with a face" in answer.text and "You look" in answer.text


async def test_an_album_without_a_face_says_so_once(tg, fake, no_face, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    for _ in range(2):
        fake.push_message(private_chat(ANA), user(ANA), photo=no_face, media_group_id="alb3")
    [answer] = await fake.replies(ANA)
    await settle(fake, 1.5)
    assert len(fake.sent("sendMessage", ANA)) == 1
    assert "all 2 photos" in answer.text and "couldn't find a face in any of them" in answer.text


async def test_an_album_before_consent_asks_once(tg, fake, selfie) -> None:
    for _ in range(3):
        fake.push_message(private_chat(ANA), user(ANA), photo=selfie, media_group_id="alb4")
    [question] = await fake.replies(ANA)
    await settle(fake, 1.5)
    assert len(fake.sent("sendMessage", ANA)) == 1
    assert "never stored" in question.text and "album has 3 photos" in question.text
    assert question.actions() == ["consent:yes", "consent:no"]


async def test_an_album_of_files_mixing_photos_a_playlist_and_a_pdf(
        tg, fake, selfie, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    playlist = (b"Track Name,Artist Name(s)\nEverywhere,Fleetwood Mac\n"
                b"Little Lies,Fleetwood Mac\n")
    parts = [fake.document(png(selfie), "IMG_0001", "application/octet-stream"),
             fake.document(playlist, "liked", "application/octet-stream"),
             fake.document(b"%PDF-1.7", "cv.pdf", "application/pdf")]
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie, media_group_id="alb5")
    for doc in parts:
        fake.push_message(private_chat(ANA), user(ANA), document=doc, media_group_id="alb5")
    answers = await fake.replies(ANA, 2)
    await settle(fake, 1.5)
    assert len(fake.sent("sendMessage", ANA)) == 2  # the taste, then ONE song list
    assert answers[0].text.startswith("Got your playlist")
    assert "Your album has 2 photos" in answers[1].text and "You look" in answers[1].text
    assert "skipped 1 of the 4 files" in answers[1].text
    assert not any("pdf" in path for path in fake.downloads)


async def test_a_group_album_with_a_mood_caption_gets_one_answer_in_the_group(
        tg, fake, selfie, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    group = group_chat(GROUP)
    fake.push_message(group, user(ANA), photo=selfie, caption="/mood", media_group_id="g1")
    fake.push_message(group, user(ANA), photo=selfie, media_group_id="g1")
    [answer] = await fake.replies(GROUP)
    await settle(fake, 1.5)
    assert len(fake.sent("sendMessage")) == 1 and "You look" in answer.text
    # an album nobody addressed to the bot is group chatter: no answer
    fake.push_message(group, user(ANA), photo=selfie, media_group_id="g2")
    fake.push_message(group, user(ANA), photo=selfie, media_group_id="g2")
    await settle(fake)
    assert len(fake.sent("sendMessage")) == 1


# --- photos sent as files --------------------------------------------------------------------
@pytest.mark.parametrize("name, mime", [("IMG_1234", "application/octet-stream"), ("", ""),
                                        ("image0", None), ("selfie.jpg", "text/plain")])
async def test_a_photo_sent_as_a_file_without_a_usable_type_is_read(
        tg, fake, selfie, service, name, mime) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    doc = fake.document(png(selfie), name, mime or "")
    if mime is None:
        doc.pop("mime_type")
    fake.push_message(private_chat(ANA), user(ANA), document=doc)
    [answer] = await fake.replies(ANA)
    assert answer.text.startswith("You look")


async def test_files_that_are_neither_are_refused_in_user_words(tg, fake) -> None:
    blob = fake.document(b"\x00\x01\x02\x03binary", "data", "application/octet-stream")
    fake.push_message(private_chat(ANA), user(ANA), document=blob)
    assert "That file is neither" in (await fake.replies(ANA))[0].text
    text_as_photo = fake.document(b"just some words", "me.jpg", "image/jpeg")
    fake.push_message(private_chat(ANA), user(ANA), document=text_as_photo)
    assert "isn't a photo I can read" in (await fake.replies(ANA, 2))[1].text
    huge = fake.document(b"x", "IMG_9", "application/octet-stream", size=21 * 1024 * 1024)
    fake.push_message(private_chat(ANA), user(ANA), document=huge)
    assert "larger than 20 MB" in (await fake.replies(ANA, 3))[2].text
    assert not [c for c in fake.sent("getFile") if c.params["file_id"] == huge["file_id"]]


async def test_an_empty_playlist_file_is_called_empty_not_neither(tg, fake) -> None:
    empty = fake.document(b"", "liked.csv", "text/csv")
    fake.push_message(private_chat(ANA), user(ANA), document=empty)
    [answer] = await fake.replies(ANA)
    assert "empty" in answer.text and "neither" not in answer.text, answer.text


async def test_a_spanish_exportify_csv_sent_without_a_type(tg, fake) -> None:
    header = "URI de la canción;Nombre de la canción;URI(s) del artista;Nombre(s) del artista\n"
    rows = "".join(f"spotify:track:{i:022d};Canción {i};spotify:artist:a;Grupo {i % 3}\n"
                   for i in range(5))
    doc = fake.document((header + rows).encode("utf-8-sig"), "mis_canciones",
                        "application/octet-stream")
    fake.push_message(private_chat(ANA), user(ANA), document=doc)
    [answer] = await fake.replies(ANA)
    assert answer.text.startswith("Got your playlist"), answer.text


# --- stickers and their siblings -------------------------------------------------------------
async def test_a_sticker_and_its_siblings_get_the_hint_in_private(tg, fake) -> None:
    kinds = {"stickers": STICKER, **SIBLINGS}
    for n, (words, fields) in enumerate(kinds.items(), 1):
        fake.push_message(private_chat(ANA), user(ANA), extra=fields)
        reply = (await fake.replies(ANA, n))[n - 1]
        assert reply.text.startswith(f"I can't read {words}."), (words, reply.text)
        assert "Send me a selfie" in reply.text
    assert not fake.downloads


async def test_stickers_in_a_group_are_answered_only_when_addressed(tg, fake) -> None:
    group = group_chat(GROUP)
    fake.push_message(group, user(ANA), extra=STICKER)  # chatter: no answer
    bot_message = {"message_id": 5, "date": 0, "chat": group,
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Moo-Sic"},
                   "text": "Send me a selfie"}
    fake.push_message(group, user(ANA), extra=STICKER, reply_to=bot_message)
    [reply] = await fake.replies(GROUP)
    await settle(fake, 1.0)
    assert len(fake.sent("sendMessage")) == 1 and reply.text.startswith("I can't read stickers")


async def test_a_download_that_fails_asks_to_send_it_again(tg, fake, selfie, service) -> None:
    await service.give_consent(UserRef("telegram", str(ANA)))
    fake.fail_downloads(1)
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie)
    [answer] = await fake.replies(ANA)
    assert "couldn't download that from Telegram" in answer.text, answer.text
    fake.push_message(private_chat(ANA), user(ANA), photo=selfie)  # sent again: read
    assert (await fake.replies(ANA, 2))[1].text.startswith("You look")
