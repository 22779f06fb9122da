package io.mss.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The web console in the system's headless Chromium: sign in, create a sync configuration,
 * push by hand, find the push in the operation records, find a connected SDK device in the
 * lookup, watch the overview. Each page is saved as a screenshot in target/console/.
 */
class ConsoleBrowserTest {
    static final String CHROMIUM = "/usr/bin/chromium";
    static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    static final Path SCREENSHOTS = Path.of("target", "console");

    @TempDir
    static Path tmp;

    private static Fleet fleet;
    private static ChromeDriver browser;
    private static WebDriverWait wait;
    private static String console;

    @BeforeAll
    static void start() throws Exception {
        assertThat(new File(CHROMIUM).canExecute()).as("Chromium (apt-get install -y chromium chromium-driver)").isTrue();
        assertThat(new File(CHROMEDRIVER).canExecute()).as("chromedriver (apt-get install -y chromium-driver)").isTrue();
        fleet = Fleet.start(tmp);
        console = fleet.server.api.baseUrl + "/console/";
        // the system's driver and browser, named explicitly: Selenium Manager never runs or downloads
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1400,1000",
                "--user-data-dir=" + Files.createTempDirectory(tmp, "chromium-profile"));
        browser = new ChromeDriver(service, options);
        wait = new WebDriverWait(browser, Duration.ofSeconds(20));
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (fleet != null) {
            fleet.close();
        }
    }

    @Test
    void anOperatorSignsInConfiguresPushesAndFindsItAll() throws Exception {
        try {
            signInConfigurePushAndFindItAll();
        } catch (Throwable failure) {
            screenshot("failure"); // what the browser showed when the step failed
            throw failure;
        }
    }

    private void signInConfigurePushAndFindItAll() throws Exception {
        // the HTTP port's root leads to the console, which has an icon and says where the key is
        browser.get(fleet.server.api.baseUrl + "/");
        wait.until(ExpectedConditions.urlToBe(console));
        WebElement key = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("api-key")));
        assertThat(browser.findElement(By.id("page-sign-in")).getText()).contains("data/api-key", "MSS_API_KEY");
        assertThat(browser.findElement(By.cssSelector("link[rel='icon']")).getDomAttribute("href"))
                .isEqualTo("/console/favicon.svg");

        // a wrong key is refused with a clear message
        key.sendKeys("not-the-key");
        browser.findElement(By.id("sign-in")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("sign-in-message"), "Wrong key"));
        screenshot("sign-in");
        key.clear();
        key.sendKeys(TestServer.API_KEY);
        browser.findElement(By.id("sign-in")).click();
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-overview")));

        // sync configurations: the API's validation message as it is, then a good one
        browser.get(console + "#biz-types");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("bt-id"))).sendKeys("bad id");
        browser.findElement(By.id("bt-save")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("biz-type-message"),
                "INVALID_BIZ_TYPE: id must be 1 to 64 uppercase letters"));
        browser.findElement(By.id("bt-id")).clear();
        browser.findElement(By.id("bt-id")).sendKeys("ORDER");
        browser.findElement(By.id("bt-description")).sendKeys("order status for the user's devices");
        browser.findElement(By.id("bt-save")).click();
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#biz-type-list tr[data-id='ORDER']")));
        assertThat(fleet.server.server.bizTypeStore().get("ORDER")).isPresent();
        assertThat(browser.findElement(By.cssSelector("#biz-type-list tr[data-id='ORDER'] td.description")).getText())
                .isEqualTo("order status for the user's devices");
        createNewsFromTheForm();
        screenshot("biz-types");

        // a real SDK device of alice connects
        Device phone = fleet.device("phone-1", "alice", "ORDER", "NEWS");
        await().atMost(Duration.ofSeconds(30)).until(() -> fleet.server.server.engine().sessionCount() == 1);

        // a push by hand reaches it
        browser.get(console + "#push");
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#push-biz-type option[value='ORDER']")));
        new Select(browser.findElement(By.id("push-biz-type"))).selectByValue("ORDER");
        browser.findElement(By.id("push-link-token")).sendKeys("alice");
        browser.findElement(By.id("push-third-msg-id")).sendKeys("console-1");
        WebElement payload = browser.findElement(By.id("push-payload"));
        payload.clear();
        payload.sendKeys("{\"order\":42,\"status\":\"shipped\"}");
        browser.findElement(By.id("push-send")).click();
        wait.until(ExpectedConditions.textToBe(By.id("push-result-code"), "OK"));
        assertThat(browser.findElement(By.id("push-oplog-id")).getText()).isEqualTo("1");
        await().atMost(Duration.ofSeconds(30)).until(() -> phone.received.size() == 1);
        assertThat(phone.received.get(0).payload()).isEqualTo("{\"order\":42,\"status\":\"shipped\"}");
        screenshot("push");

        // the push in the operation records, newest first, with its details
        browser.get(console + "#records");
        WebElement newest = wait.until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("#records-list tbody tr:first-child")));
        assertThat(newest.getText()).contains("PUSH", "ORDER", "oplog 1");
        newest.click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("record-detail"), "\"thirdMsgId\": \"console-1\""));
        new Select(browser.findElement(By.id("records-type"))).selectByVisibleText("BIZ_TYPE_CREATED");
        browser.findElement(By.id("records-search")).click();
        wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#records-list tbody tr"), 2));
        new Select(browser.findElement(By.id("records-type"))).selectByValue("");
        browser.findElement(By.id("records-search")).click();
        // two created, two status changes, one push
        wait.until(ExpectedConditions.numberOfElementsToBe(By.cssSelector("#records-list tbody tr"), 5));
        browser.findElement(By.cssSelector("#records-list tbody tr:first-child")).click();
        screenshot("records");

        // the device in the lookup: connected, from where, its sync point once it acked
        browser.get(console + "#lookup");
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("lookup-id"))).sendKeys("phone-1");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            browser.findElement(By.id("lookup-search")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("lookup-connected"), "Connected"));
            assertThat(browser.findElement(By.id("lookup-sessions")).getText()).contains("phone-1", "alice", "127.0.0.1");
            assertThat(browser.findElement(By.id("lookup-sync-points")).getText()).contains("ORDER USER ONLINE 1 1 0");
            assertThat(browser.findElement(By.id("lookup-acks")).getText()).contains("ORDER");
        });
        screenshot("lookup");
        // an id this server has never seen does not look like a device that is offline
        browser.findElement(By.id("lookup-id")).clear();
        browser.findElement(By.id("lookup-id")).sendKeys("phone-7");
        browser.findElement(By.id("lookup-search")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("lookup-connected"), "Never seen"));
        assertThat(browser.findElement(By.id("lookup-connected")).getDomAttribute("data-state")).isEqualTo("never");
        assertThat(browser.findElements(By.id("lookup-sync-points"))).isEmpty();
        screenshot("lookup-never-seen");

        // the overview follows live: pushes while it watches, the device counted
        browser.get(console + "#overview");
        wait.until(ExpectedConditions.textToBe(By.id("tile-connections"), "1"));
        AtomicBoolean watching = new AtomicBoolean(true);
        Thread pusher = new Thread(() -> {
            // one push at a time, each delivered before the next: a steady rate for the charts
            for (int live = 0; watching.get(); live++) {
                fleet.server.api.post("/api/v1/push", java.util.Map.of("bizType", "ORDER", "linkToken", "alice",
                        "payload", "live " + live));
                int expected = live + 2;
                await().atMost(Duration.ofSeconds(10)).until(() -> phone.received.size() == expected);
            }
        }, "console-test-pusher");
        pusher.start();
        try {
            wait.until(d -> d.findElements(By.cssSelector("#chart-latency canvas")).size() == 1);
            wait.until(d -> number(d.findElement(By.id("tile-deliveries")).getText()) > 0
                    && number(d.findElement(By.id("tile-pushes")).getText()) > 0);
            assertThat(number(browser.findElement(By.id("tile-latency")).getText())).isPositive();
            // this node lists itself, with the device it holds
            wait.until(d -> d.findElements(By.cssSelector("#node-list tbody tr")).size() == 1
                    && d.findElement(By.cssSelector("#node-list tbody tr td:last-child")).getText().equals("1"));
            // a few more polls, so the charts show lines over time
            wait.withTimeout(Duration.ofSeconds(30)).until(d -> number(
                    d.findElement(By.id("page-overview")).getDomAttribute("data-samples")) >= 6);
            screenshot("overview");

            // time on another page is not lost: the server sampled it, and the charts show it at once
            int before = (int) number(browser.findElement(By.id("page-overview")).getDomAttribute("data-samples"));
            browser.findElement(By.cssSelector("nav a[data-page='records']")).click();
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("page-records")));
            int sampled = fleet.server.api.call("GET", "/api/v1/stats/history", null).body().path("samples").size();
            await().atMost(Duration.ofSeconds(20)).until(() ->
                    fleet.server.api.call("GET", "/api/v1/stats/history", null).body().path("samples").size() >= sampled + 4);
            browser.findElement(By.cssSelector("nav a[data-page='overview']")).click();
            // one poll on return brings them all: one sample a poll would need 8 s for 4
            new WebDriverWait(browser, Duration.ofSeconds(3)).until(d -> number(
                    d.findElement(By.id("page-overview")).getDomAttribute("data-samples")) >= before + 4);
        } finally {
            watching.set(false);
            pusher.join(Duration.ofSeconds(15).toMillis());
        }

        // a device that was connected and is not now is offline, not never seen
        phone.close();
        await().atMost(Duration.ofSeconds(30)).until(() -> fleet.server.server.engine().sessionCount() == 0);
        browser.get(console + "#lookup");
        WebElement lookupId = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("lookup-id")));
        lookupId.clear();
        lookupId.sendKeys("phone-1");
        browser.findElement(By.id("lookup-search")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("lookup-connected"), "Offline"));
        assertThat(browser.findElement(By.id("lookup-connected")).getDomAttribute("data-state")).isEqualTo("offline");
        screenshot("lookup-offline");

        deleteWithTheForceConfirmation();

        // the HTTP API in Swagger UI
        browser.get(fleet.server.api.baseUrl + "/swagger");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.tagName("body"), "MSS HTTP API"));
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(".opblock")));
        screenshot("swagger");
    }

    /** A GLOBAL configuration through the form's selects, then taken OFFLINE and back ONLINE. */
    private static void createNewsFromTheForm() {
        browser.findElement(By.id("bt-id")).sendKeys("NEWS");
        new Select(browser.findElement(By.id("bt-range"))).selectByVisibleText("GLOBAL");
        browser.findElement(By.id("bt-save")).click();
        By row = By.cssSelector("#biz-type-list tr[data-id='NEWS']");
        wait.until(ExpectedConditions.presenceOfElementLocated(row));
        By status = By.cssSelector("#biz-type-list tr[data-id='NEWS'] .badge");
        browser.findElement(row).findElement(By.xpath(".//button[text()='Take OFFLINE']")).click();
        wait.until(ExpectedConditions.textToBe(status, "OFFLINE"));
        assertThat(fleet.server.server.bizTypeStore().get("NEWS").orElseThrow().online()).isFalse();
        browser.findElement(row).findElement(By.xpath(".//button[text()='Take ONLINE']")).click();
        wait.until(ExpectedConditions.textToBe(status, "ONLINE"));
        assertThat(fleet.server.server.bizTypeStore().get("NEWS").orElseThrow().online()).isTrue();
    }

    /**
     * Deleting asks first; a bizType with stored oplogs is refused by the API, and the console
     * asks again before deleting them too (force).
     */
    private static void deleteWithTheForceConfirmation() {
        browser.get(console + "#biz-types");
        By news = By.cssSelector("#biz-type-list tr[data-id='NEWS']");
        wait.until(ExpectedConditions.presenceOfElementLocated(news))
                .findElement(By.xpath(".//button[text()='Delete']")).click();
        assertThat(wait.until(ExpectedConditions.alertIsPresent()).getText()).contains("Delete the sync configuration NEWS?");
        browser.switchTo().alert().accept();
        wait.until(ExpectedConditions.textToBe(By.id("biz-type-message"), "Deleted NEWS."));
        assertThat(browser.findElements(news)).isEmpty();

        By order = By.cssSelector("#biz-type-list tr[data-id='ORDER']");
        browser.findElement(order).findElement(By.xpath(".//button[text()='Delete']")).click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        assertThat(wait.until(ExpectedConditions.alertIsPresent()).getText())
                .contains("bizType 'ORDER' still has stored oplogs", "Delete ORDER AND all its stored oplogs?");
        browser.switchTo().alert().dismiss();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("biz-type-message"), "BIZ_TYPE_HAS_DATA"));
        assertThat(fleet.server.server.bizTypeStore().get("ORDER")).isPresent();

        browser.findElement(order).findElement(By.xpath(".//button[text()='Delete']")).click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.textToBe(By.id("biz-type-message"), "Deleted ORDER."));
        assertThat(fleet.server.server.bizTypeStore().get("ORDER")).isEmpty();
    }

    /** A number shown on the page; 0 while it shows none ("-" before the first poll). */
    private static double number(String shown) {
        try {
            return shown == null ? 0 : Double.parseDouble(shown);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static void screenshot(String page) throws IOException {
        File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(shot.toPath(), SCREENSHOTS.resolve(page + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }
}
