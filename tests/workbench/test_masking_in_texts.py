"""Phone and ID-card numbers a customer typed into a message are masked wherever a text is
shown to someone who may not see phone numbers: request page, queue, JSON API, customer
history. Messages the spam filter dropped are shown only to those who may review them.

Found by using the hub: masking covered the phone field only, so a partner read
13812345678 in the customer's own words; and a partner saw dropped spam on the customer page.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from servicehub.core.models import Message
from servicehub.core.runtime import Runtime
from tests.factories import World
from tests.workbench.conftest import hear, hear_dropped, login

PHONE, ID_CARD = "13812345678", "110101199003071234"
SAID = f"宽带坏了，我的手机号{PHONE}，身份证{ID_CARD}，尽快联系"
MASKED_PHONE, MASKED_ID = "138****5678", "110101***********4"


def _pages(client: TestClient, request_id: int, customer_id: int) -> dict[str, str]:
    return {
        "request": client.get(f"/requests/{request_id}").text,
        "queue": client.get("/queue?view=all").text,
        "api list": client.get("/api/requests?view=all").text,
        "api detail": client.get(f"/api/requests/{request_id}").text,
        "customer": client.get(f"/customers/{customer_id}").text,
    }


def _customer(runtime: Runtime, request_id: int) -> int:
    with runtime.sessions() as s:
        found = s.scalars(select(Message.customer_id).where(Message.request_id == request_id)).first()
        assert found is not None
        return found


def test_partners_never_read_phone_or_id_numbers_in_texts(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    request_id = hear(sqlite_runtime, world.partner_account_id, "4900000000000801", SAID, author_uid="901")
    customer_id = _customer(sqlite_runtime, request_id)
    login(client, "lina")
    for name, page in _pages(client, request_id, customer_id).items():
        assert PHONE not in page and ID_CARD not in page, f"{name} shows a number whole"
        assert MASKED_PHONE in page, f"{name} lost the text around the number"
    assert MASKED_ID in _pages(client, request_id, customer_id)["request"]


def test_those_who_may_see_phones_read_the_text_whole(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    request_id = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000802", SAID, author_uid="902")
    customer_id = _customer(sqlite_runtime, request_id)
    login(client, "zhangwei")  # in-house operator: customer.view_phone on its organization's accounts
    for name, page in _pages(client, request_id, customer_id).items():
        assert PHONE in page, f"{name} masks a number its reader may see"


def test_dropped_messages_stay_out_of_the_customer_page_without_review_rights(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    request_id = hear(
        sqlite_runtime, world.partner_account_id, "4900000000000803", "信号很差", author_uid="9"
    )
    customer_id = _customer(sqlite_runtime, request_id)
    hear_dropped(sqlite_runtime, world.partner_account_id, "4900000000000804", "")  # an empty one: dropped
    with sqlite_runtime.sessions.begin() as s:  # the same customer, a message the spam filter dropped
        dropped = s.scalars(select(Message).where(Message.platform_id == "4900000000000804")).one()
        dropped.customer_id, dropped.text, dropped.drop_reason = customer_id, "加微信领流量红包", "spam"
    login(client, "lina")  # no message.review
    page = client.get(f"/customers/{customer_id}").text
    assert "信号很差" in page and "加微信领流量红包" not in page
    client.cookies.clear()
    login(client, "manager")  # may review
    page = client.get(f"/customers/{customer_id}").text
    assert "加微信领流量红包" in page and "垃圾 / 广告" in page
