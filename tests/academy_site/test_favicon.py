"""The site has an icon, linked from every page and at the address browsers ask for."""


def test_the_favicon_is_linked_and_served(client, viewer):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    client.force_login(viewer)
    assert 'rel="icon"' in client.get("/").content.decode()
