package dev.sprout;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.Location;
import dev.sprout.cli.Main;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/** The package dependencies of docs/ARCHITECTURE.md, enforced so they cannot rot silently. */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        // Main classes only: tests may wire any packages together.
        classes = new ClassFileImporter().importLocations(
                List.of(Location.of(Main.class.getProtectionDomain().getCodeSource().getLocation())));
    }

    @Test
    void importsTheMainClasses() {
        assertThat(classes.contain("dev.sprout.server.NbdServer")).isTrue();
        assertThat(classes.contain("dev.sprout.ArchitectureTest")).isFalse();
    }

    @Test
    void protocolDependsOnNothingOfOurs() {
        noClasses().that().resideInAPackage("dev.sprout.nbd..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.sprout.server..", "dev.sprout.block..", "dev.sprout.backend..",
                        "dev.sprout.layer..", "dev.sprout.os..", "dev.sprout.cli..")
                .check(classes);
    }

    @Test
    void blockDevicesNeverSeeTheProtocolOrTheServer() {
        noClasses().that().resideInAnyPackage("dev.sprout.block..", "dev.sprout.backend..",
                        "dev.sprout.layer..", "dev.sprout.fs..", "dev.sprout.os..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.sprout.nbd..", "dev.sprout.server..", "dev.sprout.cli..")
                .check(classes);
    }

    @Test
    void filesystemReadersSeeOnlyTheBlockApi() {
        noClasses().that().resideInAPackage("dev.sprout.fs..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.sprout.backend..", "dev.sprout.layer..", "dev.sprout.os..")
                .check(classes);
    }

    @Test
    void formatsSeeOnlyTheBlockApiAndTheOs() {
        noClasses().that().resideInAPackage("dev.sprout.format..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.sprout.backend..", "dev.sprout.layer..", "dev.sprout.fs..", "dev.sprout.nbd..",
                        "dev.sprout.server..", "dev.sprout.cli..")
                .check(classes);
    }

    @Test
    void blockApiDependsOnNoImplementation() {
        noClasses().that().resideInAPackage("dev.sprout.block..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.sprout.backend..", "dev.sprout.layer..")
                .check(classes);
    }

    @Test
    void serverKnowsNoBackendOrLayer() {
        noClasses().that().resideInAPackage("dev.sprout.server..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.sprout.backend..", "dev.sprout.layer..", "dev.sprout.cli..", "dev.sprout.os..")
                .check(classes);
    }

    @Test
    void clientSpeaksTheProtocolToTheBlockApiAndTheOsOnly() {
        noClasses().that().resideInAPackage("dev.sprout.client..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.sprout.server..", "dev.sprout.backend..", "dev.sprout.layer..", "dev.sprout.format..",
                        "dev.sprout.fs..", "dev.sprout.tool..", "dev.sprout.cli..")
                .check(classes);
    }

    @Test
    void toolsNeverSeeTheServerOrTheCommandLine() {
        noClasses().that().resideInAPackage("dev.sprout.tool..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.sprout.server..", "dev.sprout.cli..")
                .check(classes);
    }

    @Test
    void onlyTheOsPackageCallsNativeCode() {
        noClasses().that().resideOutsideOfPackage("dev.sprout.os..")
                .should().dependOnClassesThat().haveFullyQualifiedName("java.lang.foreign.Linker")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.foreign.SymbolLookup")
                .check(classes);
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("dev.sprout.(*)..").should().beFreeOfCycles().check(classes);
    }
}
