"""A new person's whole way in, in Debian's chromium, with the mail through a real SMTP
server: Créer un compte → Token → Enregistrement → e-mail link → login with OTP → CGU; and
the lost-token way to a new authenticator app. The QR codes are read as a phone would: from
the pixels the browser shows, by a real QR decoder."""

import io
import re

import zxingcpp
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect

import factories
from models import Letter, OutboxMail


def scanned_qr(page):
    """The text a phone's camera reads from the QR code as chromium renders it."""
    image = page.get_by_role("img", name=re.compile("Code QR"))
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") > 0  # a broken image has none
    # caret="initial": hiding the caret would inject a <style>, which the CSP blocks.
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.screenshot(caret="initial"))))
    assert [barcode.format for barcode in found] == [zxingcpp.BarcodeFormat.QRCode]
    return found[0].text


def otpauth_uri(userid, secret):
    return f"otpauth://totp/Espace%20Pro:{userid}?secret={secret}&issuer=Espace%20Pro"


def test_whole_journey(live_server, smtp, clock, page, console_errors):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Connexion").first.click()
    page.get_by_role("link", name="Créer un compte").click()

    page.get_by_label("UserID").fill("lea.guichet")
    page.locator("#password").fill(factories.PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(factories.PASSWORD)
    page.get_by_text("Voilier").click()
    page.get_by_role("button", name="Suivant").click()

    secret = page.locator("#totp-secret").inner_text().replace("-", "")
    assert scanned_qr(page) == otpauth_uri("lea.guichet", secret)
    page.get_by_label("OTP").fill("000000")
    page.get_by_role("button", name="Valider").click()
    expect(page.locator(".error-summary")).to_contain_text("Le code à 6 chiffres est incorrect")
    page.get_by_label("OTP").fill(factories.otp(secret))
    page.get_by_role("button", name="Valider").click()

    expect(page.get_by_role("heading", name="Enregistrement")).to_be_visible()
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Votre prénom").fill("Léa")
    page.get_by_label("Votre nom").fill("Guichet")
    page.get_by_label("Votre adresse e-mail").fill("lea.guichet@example.lu")
    page.get_by_label("Votre numéro d'identification (Matricule Lux.)").fill("1983081974926")
    page.get_by_label("Numéro et rue").fill("11, allée du Guichet")
    page.get_by_label("Code postal").fill("L-0000")
    page.get_by_label("Localité").fill("Luxembourg")
    page.get_by_role("button", name="S'enregistrer").click()
    expect(page.locator(".error-summary")).to_contain_text("Matricule")
    page.get_by_label("Votre numéro d'identification (Matricule Lux.)").fill("1983081974925")
    page.get_by_role("button", name="S'enregistrer").click()
    expect(
        page.get_by_text("Un e-mail de confirmation a été envoyé à l'adresse lea.guichet@example.lu.")
    ).to_be_visible()

    [mail] = smtp.wait_for(1)  # sent once the response has gone
    text = mail.get_body(("plain",)).get_content()
    assert "La date limite est samedi 28/03/2026 08:40:40." in text
    link = re.search(r"http://127\.0\.0\.1:\d+/inscription/confirmer/\S+", text).group(0)

    page.goto(link)
    page.get_by_role("button", name="Valider mon enregistrement").click()
    expect(page.get_by_text("Vous devez vous authentifier une nouvelle fois.")).to_be_visible()
    assert Letter.select().count() == 1

    clock.advance(seconds=30)  # a new one-time code
    page.get_by_role("link", name="Connexion").last.click()
    page.get_by_role("link", name=re.compile("Token")).click()
    page.get_by_label("UserID").fill("LEA.GUICHET")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_role("img", name="Votre image secrète")).to_have_attribute(
        "src", re.compile("voilier")
    )
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("OTP").fill(factories.otp(secret))
    page.get_by_role("button", name="S'authentifier").click()

    expect(page.get_by_role("heading", name="Conditions générales d'utilisation", exact=True)).to_be_visible()
    page.get_by_role("button", name="S'enregistrer").click()
    expect(page.locator(".error-summary")).to_contain_text("Il faut accepter les conditions générales")
    page.get_by_label("Accepter les CGU").check()
    page.get_by_role("button", name="S'enregistrer").click()
    expect(page.get_by_text("Vous êtes maintenant enregistré")).to_be_visible()
    expect(page.locator(".user-menu summary")).to_have_text("Léa Guichet")
    assert console_errors.unexpected(401) == []


def test_wrong_otp_at_login(app, live_server, clock, page, console_errors):
    factories.user()
    page.goto(live_server.url + "/connexion/token")
    page.get_by_label("UserID").fill("lea")
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("OTP").fill("123456" if factories.otp() != "123456" else "654321")
    page.get_by_role("button", name="S'authentifier").click()
    expect(page.locator(".error-summary")).to_contain_text("Le code à 6 chiffres est incorrect")
    assert page.url.endswith("/connexion/token/otp")  # swapped in place
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()
    expect(page.locator(".user-menu summary")).to_have_text("Léa Guichet")
    assert console_errors.unexpected(401) == []


def test_security_code_typed_on_the_confirmation_page(app, live_server, clock, page, console_errors):
    from models import OutboxMail, User
    from services import accounts

    person = factories.user(registered=False)
    with app.test_request_context():
        accounts.register(
            person,
            "Léa",
            "Guichet",
            "lea@example.lu",
            "1983081974925",
            "11, allée du Guichet",
            "L-0000",
            "Luxembourg",
            "",
        )
    code = re.search(r"Code de sécurité : (\S+)", OutboxMail.get().body_text).group(1)
    page.goto(live_server.url + "/connexion/token")
    page.get_by_label("UserID").fill("lea")
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Suivant").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()

    expect(page.get_by_role("heading", name="Ou saisissez le code de sécurité")).to_be_visible()
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Code de sécurité").fill("ABCD-EFGH-JKMN")
    page.get_by_role("button", name="Confirmer mon adresse").click()
    expect(page.locator(".error-summary")).to_contain_text("Ce code de sécurité est incorrect.")
    assert page.url.endswith("/inscription/courriel")  # swapped in place
    page.get_by_label("Code de sécurité").fill(code)
    page.get_by_role("button", name="Confirmer mon adresse").click()
    expect(page.get_by_role("heading", name="Conditions générales d'utilisation", exact=True)).to_be_visible()
    expect(page.get_by_text("Votre adresse e-mail est confirmée.")).to_be_visible()
    assert User.get().email_confirmed_at is not None
    assert console_errors.unexpected(401) == []


def test_lost_token_with_a_new_phone(app, live_server, clock, page, console_errors):
    factories.user()
    page.goto(live_server.url + "/token-perdu")
    page.get_by_label("UserID").fill("lea")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Envoyer le lien").click()
    expect(page.get_by_role("heading", name="E-mail envoyé")).to_be_visible()
    mail = OutboxMail.get(OutboxMail.to == "lea@example.lu")  # queued with the request (SMTP: test_mail.py)
    page.goto(re.search(r"http://127\.0\.0\.1:\d+/token-perdu/\S+", mail.body_text).group(0))
    secret = page.locator("#totp-secret").inner_text().replace("-", "")
    assert secret != factories.TOTP_SECRET
    assert scanned_qr(page) == otpauth_uri("lea", secret)
    page.get_by_label("OTP").fill(factories.otp(secret))
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Votre nouveau token est enregistré.")).to_be_visible()
    assert console_errors.unexpected(401) == []
